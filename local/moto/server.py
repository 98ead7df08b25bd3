"""The local AWS endpoint: moto's server, serialised and patched.

Usage: server.py --port PORT [--host 127.0.0.1]

* Binds 127.0.0.1 only by default.
* One lock around the whole WSGI app: stock moto is not safe under concurrent
  conditional writes (two concurrent TransactWriteItems on the same seat can
  both win). Requests are still accepted on many threads, so HTTP keep-alive
  works, but they are answered one at a time, like a single-writer database.
* patches.apply() replaces TransactWriteItems with a version that does not
  deep-copy whole tables (see patches.py).
"""
import argparse
import email
import email.policy
import json
import sys
import threading

import patches


MAILBOX_PATH = "/_evently/ses/messages"


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
                out.append({"id": m.id, "source": m.source, "subject": str(parsed["subject"] or ""),
                            "html": html.get_content() if html else None,
                            "text": text.get_content() if text else None,
                            "to": list(m.destinations), "region": region})
            elif hasattr(m, "body"):
                out.append({"id": m.id, "source": m.source, "subject": m.subject,
                            "html": m.body, "text": None,
                            "to": m.destinations.get("ToAddresses", []), "region": region})
    return out


def serialised(app):
    lock = threading.Lock()

    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == MAILBOX_PATH:
            with lock:
                body = json.dumps({"messages": sent_messages()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        with lock:
            # Materialise the body inside the lock: moto builds responses
            # lazily in places.
            return list(app(environ, start_response))

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

    app = serialised(DomainDispatcherApplication(create_backend_app))
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
