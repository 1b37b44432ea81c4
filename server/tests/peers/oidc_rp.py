"""A relying party built on authlib (a standard OpenID Connect library no one here wrote).

Against the server at argv[1]: discovery, the native sign-in (argv[2] client, argv[3] email,
argv[4] password) with PKCE, scope openid and a nonce, or with argv[5] (an upstream provider id)
and argv[6] (the account's login there) the browser flow instead: authlib's authorization URL
for the authorization_endpoint with `idp` and `login_hint`, a requests session following the
redirects through the upstream's (node oidc-provider's) login and consent forms back to the
redirect URI, `state` and `iss` (RFC 9207) checked. Then the code exchanged by authlib's
OAuth2Session, the ID token validated by authlib against the JWK set (signature, iss, aud, exp,
iat, nonce), a wrong nonce and a wrong audience refused, userinfo, a refresh (a new ID token),
revocation. Prints one line per check; exits non-zero on the first failure.
"""

import re
import sys
import warnings
from urllib.parse import parse_qs, urljoin, urlparse

warnings.simplefilter("ignore")  # authlib.jose announces its move to joserfc

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken

base, client_id, email, password = sys.argv[1:5]
browser = sys.argv[5:7]  # [idp, upstream login] for the browser flow
REDIRECT_URI = "com.example.authcore:/oauth/callback"

meta = requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
assert meta["issuer"] == base, meta["issuer"]
assert "ES256" in meta["id_token_signing_alg_values_supported"]
print("discovery ok")

keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
print("jwks ok")

verifier = generate_token(48)
nonce = generate_token(20)
SCOPE = "openid profile email"


def native_code():
    answer = requests.post(
        meta["authorization_challenge_endpoint"],
        data={
            "client_id": client_id,
            "identifier": email,
            "password": password,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
            "scope": SCOPE,
            "nonce": nonce,
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    client = OAuth2Session(client_id, token_endpoint_auth_method="none", scope=SCOPE)
    return client, client.fetch_token(meta["token_endpoint"], code=answer.json()["authorization_code"],
                                      code_verifier=verifier)


def browser_code(idp, login):
    client = OAuth2Session(client_id, token_endpoint_auth_method="none", scope=SCOPE,
                           redirect_uri=REDIRECT_URI, code_challenge_method="S256")
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, idp=idp, login_hint=email)
    session = requests.Session()
    response = None
    for _ in range(20):
        if url.startswith(REDIRECT_URI):
            break
        if response is not None and response.status_code == 200:
            # An upstream form: the login (any password) or the consent.
            action = urljoin(response.url, re.search(r'action="([^"]+)"', response.text).group(1))
            prompt = re.search(r'name="prompt" value="([a-z]+)"', response.text).group(1)
            form = {"prompt": prompt, "login": login, "password": "any"} if prompt == "login" else {"prompt": prompt}
            response = session.post(action, data=form, allow_redirects=False, timeout=10)
        else:
            response = session.get(url, allow_redirects=False, timeout=10)
        if response.is_redirect:
            url = urljoin(response.url, response.headers["location"])
            response = None
    else:
        sys.exit("the browser never came back to the redirect URI")
    query = parse_qs(urlparse(url).query)
    assert query["state"] == [state], query
    assert query["iss"] == [meta["issuer"]], query  # RFC 9207
    print("browser redirect ok")
    return client, client.fetch_token(meta["token_endpoint"], authorization_response=url,
                                      code_verifier=verifier, redirect_uri=REDIRECT_URI)


client, token = browser_code(*browser) if browser else native_code()
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
assert claims["amr"] == ([] if browser else ["pwd"]), claims
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
