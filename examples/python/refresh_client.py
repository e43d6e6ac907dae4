"""A real OAuth client library against `tokenstorm serve`: requests-oauthlib logs in
with the password grant, calls the API for a while, and refreshes its 3-second access
token by itself whenever it has expired. Exits 0 when every API call succeeded and at
least two refreshes happened, 1 otherwise.

    cargo run --release -- serve examples/python/short-tokens.yaml &
    python3 -m pip install requests-oauthlib
    python3 examples/python/refresh_client.py
"""

import os
import sys
import time

# The fake servers speak plain HTTP on loopback; oauthlib refuses that unless told.
os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")

from oauthlib.oauth2 import LegacyApplicationClient
from requests_oauthlib import OAuth2Session

ISSUER = os.environ.get("ISSUER", "http://127.0.0.1:8080")
API = os.environ.get("API", "http://127.0.0.1:8081")
CLIENT_ID, CLIENT_SECRET = "demo", "demo-secret"
SECONDS = float(os.environ.get("SECONDS_TO_RUN", "8"))

refreshes = []


def saved(token):
    refreshes.append(token)


session = OAuth2Session(
    client=LegacyApplicationClient(client_id=CLIENT_ID),
    auto_refresh_url=f"{ISSUER}/token",
    auto_refresh_kwargs={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    token_updater=saved,
)
session.fetch_token(
    token_url=f"{ISSUER}/token",
    username="alice",
    password="demo-password",
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET,
)

calls, failures = 0, 0
end = time.monotonic() + SECONDS
while time.monotonic() < end:
    response = session.get(f"{API}/api/me")
    calls += 1
    if response.status_code != 200:
        failures += 1
        print(f"call {calls}: {response.status_code} {response.text}", file=sys.stderr)
    time.sleep(0.5)

print(f"{calls} API calls, {failures} failed, {len(refreshes)} automatic refreshes")
sys.exit(0 if failures == 0 and len(refreshes) >= 2 else 1)
