"""A relying party built on authlib (a standard OpenID Connect library no one here wrote).

Against the server at argv[1]: discovery, the native sign-in (argv[2] client, argv[3] email,
argv[4] password) with PKCE, scope openid and a nonce, the code exchanged by authlib's
OAuth2Session, the ID token validated by authlib against the JWK set (signature, iss, aud, exp,
iat, nonce), a wrong nonce and a wrong audience refused, userinfo, a refresh (a new ID token),
revocation. Prints one line per check; exits non-zero on the first failure.
"""

import sys
import warnings

warnings.simplefilter("ignore")  # authlib.jose announces its move to joserfc

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken

base, client_id, email, password = sys.argv[1:5]

meta = requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == base, meta["issuer"]
assert "ES256" in meta["id_token_signing_alg_values_supported"]
print("discovery ok")

keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
print("jwks ok")

verifier = generate_token(48)
nonce = generate_token(20)
answer = requests.post(
    meta["authorization_challenge_endpoint"],
    data={
        "client_id": client_id,
        "identifier": email,
        "password": password,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
        "scope": "openid profile email",
        "nonce": nonce,
    },
    timeout=10,
)
assert answer.status_code == 200, answer.text
code = answer.json()["authorization_code"]

client = OAuth2Session(client_id, token_endpoint_auth_method="none", scope="openid profile email")
token = client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
print("code exchanged ok")


def validate(id_token, expected_nonce, audience=client_id):
    claims = jwt.decode(
        id_token,
        keys,
        claims_cls=CodeIDToken,
        claims_options={
            "iss": {"essential": True, "value": meta["issuer"]},
            "aud": {"essential": True, "value": audience},
        },
        claims_params={"nonce": expected_nonce, "client_id": client_id},
    )
    claims.validate()
    return claims


claims = validate(token["id_token"], nonce)
assert claims["email"] == email, claims
assert claims["amr"] == ["pwd"], claims
print("id token ok: sub=%s amr=%s" % (claims["sub"], ",".join(claims["amr"])))

for label, bad in (("nonce", lambda: validate(token["id_token"], "another-nonce")),
                   ("aud", lambda: validate(token["id_token"], nonce, "another-client"))):
    try:
        bad()
    except Exception as error:  # authlib raises joserfc's InvalidClaimError
        if getattr(error, "error", None) != "invalid_claim":
            raise
        print("wrong %s refused ok: %s" % (label, error.error))
    else:
        sys.exit("a wrong %s was accepted" % label)

info = client.get(meta["userinfo_endpoint"], timeout=10)
assert info.status_code == 200, info.text
assert info.json()["sub"] == claims["sub"] and info.json()["email"] == email, info.text
print("userinfo ok")

refreshed = client.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
again = validate(refreshed["id_token"], None)
assert again["sub"] == claims["sub"] and "nonce" not in again, again
assert again["auth_time"] == claims["auth_time"], again
print("refresh ok")

revoked = client.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"])
assert revoked.status_code == 200, revoked.text
after = client.get(meta["userinfo_endpoint"], timeout=10)
assert after.status_code == 401, after.text
print("revocation ok")
