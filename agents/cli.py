"""Command line: ``python -m agents ...`` (one node) and ``python -m agents simulate ...`` (many)."""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .agent import EXIT_ERROR, EXIT_OK, EXIT_USAGE, Agent, AgentConfig
from .devices import BACKENDS, DeviceBackendError, make_backend
from .devices.simulated import parse_model_count
from .runtimes import make_runtime

logger = logging.getLogger("agents")

DEFAULT_STATE_DIR = "/var/lib/tidegrid-agent"


def _labels(pairs: Sequence[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--label takes KEY=VALUE, got {pair!r}")
        labels[key] = value
    return labels


def _model_count(text: str):
    try:
        return parse_model_count(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _port(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 65000:
        raise argparse.ArgumentTypeError("must be a port number between 1 and 65000")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("TIDEGRID_SERVER"),
                        help="TideGrid server URL, e.g. https://tidegrid.example.com (env TIDEGRID_SERVER)")
    parser.add_argument("--interval", type=_positive,
                        help="seconds between reports; pins it (default: 10 until the server suggests another)")
    parser.add_argument("--spool-max", type=int, default=10_000,
                        help="most reports kept while the server is unreachable; the oldest go first")
    parser.add_argument("--label", action="append", default=[], metavar="KEY=VALUE", help="node label (repeat)")
    parser.add_argument("--cpu-milli", type=int, help="CPU capacity to advertise (default: this host's)")
    parser.add_argument("--memory-mib", type=int, help="memory to advertise (default: this host's)")
    parser.add_argument("--seed", type=int, help="seed of the simulated devices' noise")
    parser.add_argument("--ca-file", help="CA bundle for a server certificate not in the system store")
    parser.add_argument("--http-timeout", type=_positive, default=10.0, help="seconds per HTTP request")
    parser.add_argument("--backoff-cap", type=_positive, default=60.0, help="longest retry delay in seconds")
    parser.add_argument("--connect-host", help="process runtime: host name or address customers reach this node "
                                                "at, in instances' SSH and Jupyter endpoints (default: --hostname)")
    parser.add_argument("--ssh-port-base", type=_port, default=22000,
                        help="process runtime: instances' SSH ports are handed out from this + 1 up")
    parser.add_argument("--jupyter-port-base", type=_port, default=28000,
                        help="process runtime: instances' Jupyter ports are handed out from this + 1 up")
    parser.add_argument("--grace", type=_positive, default=10.0,
                        help="seconds a stopped workload gets between SIGTERM and SIGKILL")
    parser.add_argument("--log-level", default=os.environ.get("TIDEGRID_LOG_LEVEL", "INFO"),
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--version", action="version", version=f"tidegrid-agent {__version__}")


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agents",
        description="TideGrid node agent: enrolls this host and reports its devices and workloads. "
                    "(`python -m agents simulate --help` runs many simulated nodes.)")
    _common(parser)
    parser.add_argument("--token-file", help="file holding the one-time bootstrap token; only needed until the "
                                             "node is enrolled (or env TIDEGRID_TOKEN)")
    parser.add_argument("--token", default=os.environ.get("TIDEGRID_TOKEN"),
                        help="the bootstrap token itself; visible to every local user in `ps`, so prefer "
                             "--token-file or TIDEGRID_TOKEN")
    parser.add_argument("--devices", required=True, choices=BACKENDS, help="device backend")
    parser.add_argument("--runtime", default="process", choices=["process", "kubernetes", "noop"])
    parser.add_argument("--state-dir", default=os.environ.get("TIDEGRID_STATE_DIR", DEFAULT_STATE_DIR),
                        help=f"credential, seq and spool (default {DEFAULT_STATE_DIR})")
    parser.add_argument("--hostname", default=socket.gethostname(), help="name of this node (default: hostname)")
    parser.add_argument("--simulate-model", nargs="+", action="extend", default=[], type=_model_count,
                        metavar="MODEL:COUNT", help="devices of --devices simulated, e.g. 'NVIDIA H100 80GB HBM3:8' "
                                                    "(unknown models: MODEL:COUNT:MEMORY_MIB)")
    parser.add_argument("--namespace", default="tidegrid", help="kubernetes runtime: namespace of the pods")
    parser.add_argument("--kube-node-name", help="kubernetes runtime: this host's Node name (default: --hostname)")
    parser.add_argument("--kubeconfig", help="kubernetes runtime: kubeconfig (default: in-cluster or ~/.kube/config)")
    parser.add_argument("--default-image", help="kubernetes runtime: image for specs that name none")
    return parser


def simulate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m agents simulate",
        description="Run N simulated nodes in one process, each with its own state, credential, seq and spool.")
    _common(parser)
    parser.add_argument("--tokens-file", "--token-file",
                        help="file with one bootstrap token per line (one per node), or a single token used by "
                             "every node (a reusable fleet token with enough uses)")
    parser.add_argument("--token", action="append", default=[],
                        help="bootstrap token (repeat: one per node); visible in `ps`, so prefer --tokens-file or "
                             "TIDEGRID_TOKEN")
    parser.add_argument("--nodes", type=int, required=True, help="how many nodes")
    parser.add_argument("--devices", nargs="+", required=True, type=_model_count, metavar="MODEL:COUNT",
                        help="devices of every node, e.g. 'NVIDIA A100-SXM4-80GB:8'")
    parser.add_argument("--runtime", default="process", choices=["process", "noop"],
                        help="process runs real local processes; noop only pretends (load tests)")
    parser.add_argument("--state-dir", default=".sim-agents", help="one sub-folder per node (default .sim-agents)")
    parser.add_argument("--hostname-prefix", default="sim-node-", help="node names are PREFIX001, PREFIX002, ...")
    parser.add_argument("--no-fsync", action="store_true", help="skip fsync of state and spool (load tests)")
    parser.add_argument("--ramp", type=_positive,
                        help="spread the nodes' start (enrollment, first report) over this many seconds "
                             "(default: one interval)")
    return parser


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum, _frame):
        logger.info("received %s; finishing the current iteration and stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _config(args: argparse.Namespace, *, hostname: str, state_dir: Path, token: str | None,
            initial_delay_s: float = 0.0, durable: bool = True) -> AgentConfig:
    return AgentConfig(
        server=args.server, state_dir=state_dir, hostname=hostname, token=token,
        interval_s=args.interval or 10.0, interval_pinned=args.interval is not None,
        spool_max=args.spool_max, labels=_labels(args.label), cpu_milli=args.cpu_milli, memory_mib=args.memory_mib,
        backoff_cap_s=args.backoff_cap, backoff_base_s=min(1.0, args.backoff_cap),
        http_timeout_s=args.http_timeout, ca_file=args.ca_file, durable=durable, initial_delay_s=initial_delay_s,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:
        return simulate_main(argv[1:])
    parser = run_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level)
    if not args.server:
        parser.error("--server is required (or TIDEGRID_SERVER)")
    if args.devices != "simulated" and args.simulate_model:
        parser.error("--simulate-model only goes with --devices simulated")
    state_dir = Path(args.state_dir)
    token = _read_token_file(parser, args.token_file) if args.token_file else args.token
    try:
        backend = make_backend(args.devices, hostname=args.hostname, simulated_models=args.simulate_model,
                               seed=args.seed)
    except DeviceBackendError as error:
        logger.error("device backend %s cannot start: %s", args.devices, error)
        return EXIT_ERROR
    try:
        runtime = make_runtime(args.runtime, state_dir=state_dir, hostname=args.hostname,
                               devices=backend.inventory(), namespace=args.namespace,
                               kube_node_name=args.kube_node_name, kubeconfig=args.kubeconfig,
                               default_image=args.default_image, grace_s=args.grace,
                               connect_host=args.connect_host, ssh_port_base=args.ssh_port_base,
                               jupyter_port_base=args.jupyter_port_base)
        agent = Agent(_config(args, hostname=args.hostname, state_dir=state_dir, token=token),
                      backend=backend, runtime=runtime)
    except Exception as error:
        logger.error("cannot start the agent: %s: %s", type(error).__name__, error)
        backend.close()
        return EXIT_ERROR
    _install_signal_handlers(agent.stop_event)
    return agent.run()


def _token_lines(path: str) -> list[str]:
    lines = (line.strip() for line in Path(path).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _read_token_file(parser: argparse.ArgumentParser, path: str) -> str:
    try:
        tokens = _token_lines(path)
    except OSError as error:
        parser.error(f"--token-file: {error.strerror}: {path}")
    if len(tokens) != 1:
        parser.error(f"--token-file must hold exactly one token, {path} has {len(tokens)}")
    return tokens[0]


def _read_tokens(args: argparse.Namespace) -> list[str]:
    tokens = list(args.token)
    if args.tokens_file:
        tokens.extend(_token_lines(args.tokens_file))
    if not tokens and os.environ.get("TIDEGRID_TOKEN"):
        tokens.append(os.environ["TIDEGRID_TOKEN"])
    return tokens


def simulate_main(argv: Sequence[str]) -> int:
    from .devices.simulated import SimulatedBackend

    parser = simulate_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.log_level)
    if not args.server:
        parser.error("--server is required (or TIDEGRID_SERVER)")
    if args.nodes < 1:
        parser.error("--nodes must be at least 1")
    tokens = _read_tokens(args)
    if 1 < len(tokens) < args.nodes:
        parser.error(f"{len(tokens)} tokens for {args.nodes} nodes: give one per node, or a single reusable one")
    stop = threading.Event()
    agents: list[Agent] = []
    root = Path(args.state_dir)
    jitter = random.Random(args.seed)  # noqa: S311 - start-up spread, not secrets
    for number in range(1, args.nodes + 1):
        hostname = f"{args.hostname_prefix}{number:03d}"
        token = tokens[number - 1] if len(tokens) >= args.nodes else (tokens[0] if tokens else None)
        seed = None if args.seed is None else args.seed + number
        backend = SimulatedBackend(args.devices, hostname=hostname, seed=seed)
        state_dir = root / hostname
        runtime = make_runtime(args.runtime, state_dir=state_dir, hostname=hostname, devices=backend.inventory(),
                               grace_s=args.grace, connect_host=args.connect_host,
                               ssh_port_base=args.ssh_port_base, jupyter_port_base=args.jupyter_port_base)
        # Spread the nodes over one interval so a fleet does not report in lock-step.
        config = _config(args, hostname=hostname, state_dir=state_dir, token=token,
                         initial_delay_s=jitter.uniform(0, args.ramp or args.interval or 10.0)
                         if args.nodes > 1 else 0.0,
                         durable=not args.no_fsync)
        agents.append(Agent(config, backend=backend, runtime=runtime, stop_event=stop))
    _install_signal_handlers(stop)
    codes: dict[str, int] = {}

    def run(agent: Agent) -> None:
        codes[agent.config.hostname] = agent.run()

    threads = [threading.Thread(target=run, args=(agent,), name=agent.config.hostname) for agent in agents]
    for thread in threads:
        thread.start()
    logger.info("simulating %d node(s) with %s against %s", len(agents),
                ", ".join(f"{count}× {spec.name}" for spec, count in args.devices), args.server)
    for thread in threads:
        while thread.is_alive():
            thread.join(timeout=0.5)
    failed = {host: code for host, code in codes.items() if code != EXIT_OK}
    if failed:
        logger.error("%d node(s) stopped with errors: %s", len(failed),
                     ", ".join(f"{host}={code}" for host, code in sorted(failed.items())))
        return max(failed.values()) if all(code != EXIT_USAGE for code in failed.values()) else EXIT_USAGE
    return EXIT_OK
