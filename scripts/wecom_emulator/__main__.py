"""Command line: ``python -m scripts.wecom_emulator [--port 8900] [--seed demo] [--state FILE] ...``."""
import argparse
import logging
import os
import signal
import sys

from .seed import SEEDS
from .server import Emulator, make_wsgi_server
from .settings import RECEIVE_RULES, Settings

AUTOSAVE_SECONDS = 5.0


def parse_args(argv=None) -> argparse.Namespace:
    d = Settings()
    p = argparse.ArgumentParser(prog="python -m scripts.wecom_emulator",
                                description="Local WeCom emulator: /cgi-bin API, callbacks, /_emulator/ control.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--corp-id", default=d.corp_id)
    p.add_argument("--secret", default=d.secret)
    p.add_argument("--token", default=d.token, help="callback Token")
    p.add_argument("--aes-key", default=d.aes_key, help="callback EncodingAESKey (43 characters)")
    p.add_argument("--agent-id", default=d.agent_id)
    p.add_argument("--callback-url", default=d.callback_url)
    p.add_argument("--seed", choices=SEEDS, default="demo")
    p.add_argument("--state", metavar="FILE", help="load from / save to this JSON file (no re-seed if it exists)")
    p.add_argument("--receive-rule", choices=RECEIVE_RULES, default=d.receive_rule)
    p.add_argument("--token-ttl", type=int, default=d.token_ttl)
    p.add_argument("--welcome-window", type=float, default=d.welcome_window)
    p.add_argument("--quiet", action="store_true", help="don't log every request")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = Settings(corp_id=args.corp_id, secret=args.secret, token=args.token,
                            aes_key=args.aes_key, agent_id=args.agent_id, callback_url=args.callback_url,
                            receive_rule=args.receive_rule, token_ttl=args.token_ttl,
                            welcome_window=args.welcome_window)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    loaded = bool(args.state and os.path.exists(args.state))
    emu = Emulator(settings, seed=args.seed, state_file=args.state)
    server = make_wsgi_server(emu, args.host, args.port, quiet=args.quiet)
    if args.state:
        emu.autosave(AUTOSAVE_SECONDS)

    def stop(signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second signal must not interrupt the save
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"WeCom emulator on http://{args.host}:{server.server_port}/cgi-bin/ "
          f"(corp {settings.corp_id}, {'state from ' + args.state if loaded else 'seed ' + args.seed}), "
          f"callbacks to {settings.callback_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        emu.close()
        if emu.save():
            print(f"state saved to {args.state}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
