"""Every chat turn ends with an answer the shopper can read, within a bounded time.

Rasa swallows a failed custom action (action server down, or its HTTP call timing out) and
carries on, which leaves the shopper with no reply at all; and it waits up to five minutes for a
slow action server, a constant that Rasa Open Source 3.6 does not let us configure (RasaHQ/rasa
issue 9789). Our channels therefore run each turn through `guarded_turn`:

- the turn gets `SHOPBOT_TURN_TIMEOUT` seconds (default 10); past that the shopper hears that we
  are still on it, while the turn goes on in the background, so nothing it does is lost (its
  events still reach the tracker; a Socket.IO shopper even gets the late answer);
- a turn that finished without a single message gets a polite apology;
- Rasa's own wait for the action server is cut to `SHOPBOT_ACTION_TIMEOUT` seconds (default 20)
  so a hung action server cannot hold a conversation's lock for five minutes;
- the action server's answers are validated by one prebuilt JSON Schema validator instead of a
  metaschema check per answer (the largest single cost of a turn, measured with py-spy);
- calls to the action server reuse kept-alive connections instead of opening a new HTTP client
  and TCP connection for each of the two calls of every turn.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import ujson
from rasa.utils.endpoints import EndpointConfig

log = logging.getLogger(__name__)

TURN_TIMEOUT_ENV = "SHOPBOT_TURN_TIMEOUT"
ACTION_TIMEOUT_ENV = "SHOPBOT_ACTION_TIMEOUT"
DEFAULT_TURN_TIMEOUT = 10.0
DEFAULT_ACTION_TIMEOUT = 20.0

SLOW_TEXT = "这个问题我还在查，稍等片刻，一会儿再问我一次就好～"
SILENT_TEXT = "抱歉，系统开小差了😥 稍后再试试，或者说「转人工」找客服。"

# Turns that outlived their timeout: kept referenced so they are not garbage-collected mid-way.
_late_turns: set[asyncio.Future[Any]] = set()


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw.strip() else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default
    return value if value > 0 else default


def turn_timeout() -> float:
    return _seconds(TURN_TIMEOUT_ENV, DEFAULT_TURN_TIMEOUT)


def limit_action_server_wait() -> float:
    """Shorten Rasa's wait for the action server (read by RemoteAction.run on every call), and
    make a call that runs out of that time fail the way a refused connection does."""
    import rasa.core.actions.action as rasa_action

    seconds = _seconds(ACTION_TIMEOUT_ENV, DEFAULT_ACTION_TIMEOUT)
    rasa_action.DEFAULT_REQUEST_TIMEOUT = seconds  # type: ignore[attr-defined]
    _timeouts_as_action_failures(rasa_action.RemoteAction)
    _validate_action_results_with_one_validator(rasa_action.RemoteAction)
    _reuse_action_server_connections(rasa_action.RemoteAction)
    from bot import event_types

    # Every action server answer is parsed back into events.
    event_types.install()
    return seconds


# Shorter than the action server's own keep-alive (Sanic closes idle connections after 5 s), so
# the client drops an idle connection before the server can close it under a request in flight.
KEEP_ALIVE_SECONDS = 2.0
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, aiohttp.ClientSession]]
_clients = weakref.WeakKeyDictionary()


def _dumps(body: Any) -> str:
    """The whole conversation goes to the action server twice a turn; the standard library's
    encoder took 8% of Rasa's busy time on it. ujson (already installed with Sanic) writes the
    same JSON several times faster, and UTF-8 instead of \\u escapes makes the Chinese text a
    third of the size."""
    return ujson.dumps(body, ensure_ascii=False, escape_forward_slashes=False)


class _Borrowed:
    """`async with` over a shared client that leaves it open (EndpointConfig.request closes
    whatever its `session()` returns)."""

    def __init__(self, client: aiohttp.ClientSession) -> None:
        self.client = client

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.client

    async def __aexit__(self, *_exc: object) -> None:
        return None


class KeepAliveEndpoint(EndpointConfig):
    """The action endpoint with one pooled HTTP client per event loop.

    Rasa's EndpointConfig builds a new aiohttp client, and so a new TCP connection, for every
    request. Everything else about the request (headers, auth, parameters, errors) is Rasa's."""

    @classmethod
    def of(cls, endpoint: EndpointConfig) -> KeepAliveEndpoint:
        return cls(
            endpoint.url,
            params=endpoint.params,
            headers=endpoint.headers,
            basic_auth=endpoint.basic_auth,
            token=endpoint.token,
            token_name=endpoint.token_name,
            cafile=endpoint.cafile,
            type=endpoint.type,
            **endpoint.kwargs,
        )

    def _key(self) -> str:
        return repr((self.url, sorted(self.headers.items()), sorted(self.basic_auth.items())))

    def session(self) -> Any:
        loop = asyncio.get_running_loop()
        clients = _clients.setdefault(loop, {})
        client = clients.get(self._key())
        if client is None or client.closed:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth
                else None
            )
            client = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                connector=aiohttp.TCPConnector(keepalive_timeout=KEEP_ALIVE_SECONDS),
                json_serialize=_dumps,
            )
            clients[self._key()] = client
        return _Borrowed(client)


async def close_action_server_clients(_app: Any = None, _loop: Any = None) -> None:
    """after_server_stop listener: close this loop's pooled clients."""
    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


def _reuse_action_server_connections(remote_action: Any) -> None:
    original = remote_action.run
    if getattr(original, "_shopbot_keep_alive", False):
        return

    @functools.wraps(original)
    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        endpoint = self.action_endpoint
        if endpoint is not None and type(endpoint) is EndpointConfig:
            self.action_endpoint = KeepAliveEndpoint.of(endpoint)
        return await original(self, *args, **kwargs)

    run._shopbot_keep_alive = True  # type: ignore[attr-defined]
    remote_action.run = run


def _validate_action_results_with_one_validator(remote_action: Any) -> None:
    """Rasa checks every action server answer with `jsonschema.validate`, which first checks the
    (constant) schema itself against the JSON Schema metaschema. With jsonschema 4.x that
    metaschema check is most of the cost: profiling a running Rasa under chat load put 45% of
    message handling in it. The answer is still validated, the same way and with the same error,
    by one validator built when the channel starts."""
    from jsonschema import ValidationError
    from jsonschema.validators import validator_for

    original = remote_action._validate_action_result
    if getattr(original, "_shopbot_cached", False):
        return
    schema = remote_action.action_response_format_spec()
    validator_cls = validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)

    @functools.wraps(original)
    def validate(self: Any, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as exc:
            exc.message += (
                ". Failed to validate Action server response from API, make sure your response "
                "from the Action endpoint is valid."
            )
            raise
        return True

    validate._shopbot_cached = True  # type: ignore[attr-defined]
    remote_action._validate_action_result = validate


def _timeouts_as_action_failures(remote_action: Any) -> None:
    """RemoteAction.run turns connection errors into RasaException, which Rasa survives, but lets
    asyncio.TimeoutError through. Raised from the slot-mapping validation action that runs before
    any prediction, that exception aborts the turn and the tracker is never saved: the shopper's
    message is lost. Here a timeout becomes the same RasaException a refused connection gives."""
    original = remote_action.run
    if getattr(original, "_shopbot_timeout_guard", False):
        return

    @functools.wraps(original)
    async def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        from rasa.shared.exceptions import RasaException

        try:
            return await original(self, *args, **kwargs)
        except asyncio.TimeoutError as exc:
            log.error("custom action %s: the action server did not answer in time", self.name())
            raise RasaException(
                f"Failed to execute custom action '{self.name()}': the action server timed out"
            ) from exc

    run._shopbot_timeout_guard = True  # type: ignore[attr-defined]
    remote_action.run = run


# What a shopper's first turns run through: the NLU pipeline and every policy.
WARM_UP_TEXTS = ("你好", "想买双跑鞋 500以内")


async def warm_up(app: Any, _loop: Any = None) -> None:
    """Run the model once before the first shopper does (after_server_start listener).

    A freshly started Rasa spends seconds on its first message (TensorFlow builds its graphs,
    jieba loads its dictionaries); without this, the first shopper after every restart hears
    SLOW_TEXT. Nothing is stored: the tracker lives only here and no action is executed.
    Requests that arrive meanwhile wait in the accept queue and then get a real answer.
    """
    agent = getattr(app.ctx, "agent", None)
    # Only a real Rasa Agent with a loaded model is warmed (test harnesses mount other engines).
    is_ready = getattr(agent, "is_ready", None)
    if not callable(is_ready) or not is_ready() or getattr(app.ctx, "shopbot_warm", False):
        return
    app.ctx.shopbot_warm = True
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    started = time.monotonic()
    try:
        for text in WARM_UP_TEXTS:
            parsed = await agent.parse_message(text)
            tracker = DialogueStateTracker.from_events(
                "shopbot-warm-up",
                [
                    ActionExecuted(ACTION_LISTEN_NAME),
                    UserUttered(text, parsed.get("intent"), parsed.get("entities"), parsed),
                ],
                slots=agent.domain.slots,
            )
            agent.predict_next_with_tracker(tracker)
    except Exception:  # noqa: BLE001 - a failed warm-up only means a slower first turn
        log.warning("model warm-up failed", exc_info=True)
        return
    log.info("model warmed up in %.1fs", time.monotonic() - started)
    from shopbot.heap import freeze_startup_heap

    # Everything loaded so far (model, TensorFlow, jieba) lives as long as the process.
    freeze_startup_heap("rasa")


def _report_late(task: asyncio.Future[Any]) -> None:
    _late_turns.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("a turn that outlived its timeout failed", exc_info=task.exception())


async def guarded_turn(
    turn: Awaitable[Any],
    *,
    messages_sent: Callable[[], int],
    say: Callable[[str], Awaitable[None]],
    timeout: float | None = None,
) -> str:
    """Run one turn; returns "ok", "slow" or "silent". Exceptions propagate to the channel,
    which knows how its caller wants to hear about them (REST: 503; Socket.IO: an apology)."""
    task = asyncio.ensure_future(turn)
    limit = turn_timeout() if timeout is None else timeout
    try:
        await asyncio.wait_for(asyncio.shield(task), limit)
    except asyncio.TimeoutError:
        _late_turns.add(task)
        task.add_done_callback(_report_late)
        log.warning("turn took longer than %.1fs; answered that we are still on it", limit)
        await say(SLOW_TEXT)
        return "slow"
    if messages_sent() == 0:
        log.warning("turn finished without a reply (is the action server up?)")
        await say(SILENT_TEXT)
        return "silent"
    return "ok"
