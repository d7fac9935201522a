"""The secret server of this repository's own pki.yaml (serve.app: server:app).

It is the Secret Squirrels example's Flask app, loaded from examples/secret-squirrels/server.py so the two
cannot drift: `npx provision serve secret-server` from the repository root answers "fluffy tail".
"""
import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location("secret_squirrels_server", pathlib.Path(__file__).parent / "examples" / "secret-squirrels" / "server.py")
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
app = _module.app
