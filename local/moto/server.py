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
import sys
import threading

import patches


def serialised(app):
    lock = threading.Lock()

    def wrapped(environ, start_response):
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
