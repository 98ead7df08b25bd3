"""The local AWS endpoint: moto's server, serialised and patched.

Usage: server.py --port PORT [--host 127.0.0.1]

* Binds 127.0.0.1 only by default.
* One lock around the whole WSGI app: stock moto is not safe under concurrent
  conditional writes (two concurrent TransactWriteItems on the same seat can
  both win). Requests are still accepted on many threads, so HTTP keep-alive
  works, but they are answered one at a time, like a single-writer database.
* patches.apply() replaces TransactWriteItems with a version that does not
  deep-copy whole tables (see patches.py).
* IAM: requests signed with a function's access key are checked against
  that function's policies from template.yaml and refused as AccessDenied
  outside them (see iam.py).
* Faults (throttling, transaction conflicts, 500s, timeouts, SES throttling)
  can be switched on at run time at /_evently/faults (see faults.py); off by
  default.
"""
import argparse
import base64
import datetime
import email
import email.policy
import io
import json
import sys
import threading
import time

import faults
import iam
import patches


MAILBOX_PATH = "/_evently/ses/messages"


SENT_AT: dict = {}


def _ses_outbox() -> list:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return [m for backend in ses_backends[DEFAULT_ACCOUNT_ID].values()
            for m in getattr(backend, "sent_messages", [])]


def stamp_new_messages() -> None:
    """moto records no send time: note when each message first appears."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for m in _ses_outbox():
        SENT_AT.setdefault(m.id, now)


def sent_messages() -> list:
    """Every email SES accepted, oldest first, for the local mailbox. moto's
    /moto-api/data.json has them too, but it serialises every model of every
    service (thousands of table items) on each call."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    out = []
    for region, backend in ses_backends[DEFAULT_ACCOUNT_ID].items():
        for m in getattr(backend, "sent_messages", []):
            if hasattr(m, "raw_data"):
                parsed = email.message_from_string(m.raw_data, policy=email.policy.default)
                html = parsed.get_body(preferencelist=("html",))
                text = parsed.get_body(preferencelist=("plain",))
                html = html.get_content() if html else None
                # Inline pictures (multipart/related, `cid:` in the HTML): shown
                # in the mailbox as data: URIs, which its page can display.
                images = [p for p in parsed.walk()
                          if p.get_content_maintype() == "image" and p["Content-ID"]]
                for part in images:
                    cid = str(part["Content-ID"]).strip("<>")
                    data = base64.b64encode(part.get_content()).decode()
                    if html:
                        html = html.replace("cid:" + cid,
                                            "data:%s;base64,%s" % (part.get_content_type(), data))
                out.append({"id": m.id, "source": m.source, "subject": str(parsed["subject"] or ""),
                            "sent_at": SENT_AT.get(m.id),
                            "html": html,
                            "text": text.get_content() if text else None,
                            "images": [{"cid": str(p["Content-ID"]).strip("<>"),
                                        "type": p.get_content_type(),
                                        "bytes": len(p.get_content())} for p in images],
                            "to": list(m.destinations), "region": region})
            elif hasattr(m, "body"):
                out.append({"id": m.id, "source": m.source, "subject": m.subject,
                            "sent_at": SENT_AT.get(m.id),
                            "html": m.body, "text": None,
                            "to": m.destinations.get("ToAddresses", []), "region": region})
    return out


def serialised(app, injector: "faults.Faults", registry: "iam.Registry"):
    lock = threading.Lock()

    def respond(start_response, status, headers, body):
        start_response(status, headers + [("Content-Length", str(len(body)))])
        return [body]

    def wrapped(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == MAILBOX_PATH:
            with lock:
                body = json.dumps({"messages": sent_messages()}).encode()
            return respond(start_response, "200 OK", [("Content-Type", "application/json")], body)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        if path == faults.PATH:
            status, body = faults.control(environ, raw, injector)
            return respond(start_response, status, [("Content-Type", "application/json")], body)
        if path == iam.PATH:
            status, body = iam.control(environ, raw, registry)
            return respond(start_response, status, [("Content-Type", "application/json")], body)
        # As in AWS, a request is authorised before anything else happens.
        key = iam.access_key(environ)
        if key.startswith(iam.FUNCTION_KEY_PREFIX):
            service, needs = iam.needs(environ, raw)
            denial = registry.check(key, needs)
            if denial is not None:
                return respond(start_response, *iam.denied_response(service, key, denial))
        req = faults.describe(environ, raw)
        rule = injector.pick(req)
        if rule is not None and rule.fault != "timeout":
            return respond(start_response, *faults.error_response(rule, req, injector))
        started = {}

        def capture(status, headers, exc_info=None):
            started["status"], started["headers"] = status, headers
            return lambda _data: None

        with lock:
            # Materialise the body inside the lock: moto builds responses
            # lazily in places.
            body = list(app(environ, capture))
            if req.service == "ses":
                stamp_new_messages()
        if rule is not None:
            # Applied; the answer comes too late for the caller's timeout.
            time.sleep(rule.delay_ms / 1000)
        start_response(started["status"], started["headers"])
        return body

    return wrapped


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()

    patches.apply()
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app = serialised(DomainDispatcherApplication(create_backend_app), faults.Faults(),
                     iam.Registry())
    server = make_server(args.host, args.port, app, threaded=True,
                         request_handler=MotoRequestHandler)
    print(f"local AWS endpoint on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
