"""Cross-check `authcore code` against pyotp on random cases.

Usage: pyotp_codes.py AUTHCORE_BINARY [CASES] [SEED]

Each case draws a secret (128 to 512 bits), an algorithm, 6 to 8 digits and either a TOTP period
(1 s to 1 hour; pyotp's TOTP checks periods up to its 120 s limit, its HOTP the longer ones) and a time, or an HOTP counter (up to 2^64 - 1). The URI given to authcore varies
the way issuers write secrets (upper or lower case, with or without padding). Prints each mismatch
and a closing line `pyotp: N passed, N failed`; exits 1 on any mismatch.
"""

import base64
import hashlib
import os
import random
import subprocess
import sys
import time

import pyotp

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def case(rng):
    secret = base64.b32encode(rng.randbytes(rng.randint(16, 64))).decode()
    algorithm = rng.choice(sorted(DIGESTS))
    digits = rng.randint(6, 8)
    written = secret.rstrip("=") if rng.random() < 0.5 else secret
    written = written.lower() if rng.random() < 0.3 else written
    written = written.replace("=", "%3D")
    if rng.random() < 0.7:
        period = rng.choice([30, 60, 1, 3600, rng.randint(1, 3600)])
        at = rng.randint(0, 2**33)
        uri = f"otpauth://totp/Check:case?secret={written}&algorithm={algorithm}&digits={digits}&period={period}"
        if period <= 120:
            expected = pyotp.TOTP(secret, digits=digits, digest=DIGESTS[algorithm], interval=period).at(at)
        else:
            # pyotp's TOTP stops at 120 s periods; past that it computes the step's code as HOTP.
            expected = pyotp.HOTP(secret, digits=digits, digest=DIGESTS[algorithm]).at(at // period)
        return uri, ["--at", str(at)], expected
    counter = rng.choice([0, 1, 2**32, 2**63, 2**64 - 1, rng.randint(0, 2**64 - 1)])
    uri = f"otpauth://hotp/Check:case?secret={written}&algorithm={algorithm}&digits={digits}&counter={counter}"
    expected = pyotp.HOTP(secret, digits=digits, digest=DIGESTS[algorithm]).at(counter)
    return uri, [], expected


def main():
    binary = sys.argv[1]
    cases = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20261122
    os.environ["TZ"] = "UTC"  # pyotp turns unix times into local datetimes and back
    time.tzset()
    rng = random.Random(seed)
    passed = failed = 0
    for _ in range(cases):
        uri, extra, expected = case(rng)
        run = subprocess.run([binary, "code", uri, *extra], capture_output=True, text=True)
        got = run.stdout.splitlines()[0] if run.returncode == 0 and run.stdout else None
        if got == expected:
            passed += 1
        else:
            failed += 1
            print(f"MISMATCH {uri} {' '.join(extra)}: pyotp {expected}, authcore {got!r} {run.stderr.strip()}")
    print(f"pyotp: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
