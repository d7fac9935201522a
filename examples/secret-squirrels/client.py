"""A club member's client: trusts only the club's CA, and prints the secret.

Run with provision's client environment:  npx provision exec secret-server -- python3 client.py
"""
import os

import requests

url = os.environ["SECRET_URL"]
ca_bundle = os.environ["REQUESTS_CA_BUNDLE"]
client_cert = os.environ.get("CLIENT_CERT_FILE")
client_key = os.environ.get("CLIENT_KEY_FILE")

response = requests.get(
    url,
    verify=ca_bundle,
    cert=(client_cert, client_key) if client_cert and client_key else None,
    timeout=10,
)
response.raise_for_status()
print(f"The secret message is {response.text}")
