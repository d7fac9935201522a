"""The club's secret server: a Flask app that answers with the secret message.

Served over HTTPS by uwsgi with the config provision renders:  uwsgi --ini pki/launch/secret-server/uwsgi.ini
"""
import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def secret():
    return os.environ.get("SECRET_MESSAGE", "fluffy tail")
