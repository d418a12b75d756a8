# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Webex REST client: the one HTTP path of webex_probe, webex_notify and the watchdog.

Standard library only (urllib): it runs on the target, usually the controller through
``delegate_to: localhost``, and in the watchdog's program on the VM, outside Ansible's module
wrapper, where ``ansible.module_utils.urls`` is not there to import. Every failure becomes a
WebexError whose message a user can act on. The probe protocol is module_utils/probe.py, the
notification module_utils/notify.py.

The token lives in one request header and nowhere else. A server can still echo it (a proxy, a
captive portal, a misconfigured emulator answering with the request's headers), so every text of an
answer is scrubbed of the token, of every prefix of it of 8 characters or more and of any
``Bearer <anything>`` (module_utils/scrub.py) *before* it is cut for a message: Ansible's no_log
masking needs the whole value and misses a cut-off one. Errors are raised outside of the handler of
the exception that caused them, so they carry no cause or context; the header is never forwarded on a
redirect (redirects are refused); a token that http.client would echo in its own error (whitespace,
control characters) is refused up front; and http:// goes to loopback only, unless
allow_insecure_http says otherwise.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import json
import math
import os
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.botfleet.deploy.plugins.module_utils.scrub import BEARER, MASK, Scrubber

DEFAULT_BASE_URL = "https://webexapis.com/v1/"
# Where a probe or a notification goes; exactly one is given.
TARGETS = ("room_id", "to_person_email", "to_person_id")
TRANSIENT_STATUSES = (429, *range(500, 600))
BACKOFF_BASE = 1.0
MAX_BACKOFF = 30.0
# Without an overall deadline (webex_notify), a longer Retry-After gives up instead of hanging the play.
MAX_RETRY_AFTER = 60.0
# The newest messages of the room read on each poll; the bot's reply is among them unless the room is
# busier than this within one poll interval.
POLL_PAGE_SIZE = 50
MIN_REQUEST_TIMEOUT = 1.0
MAX_QUOTE = 200


class WebexError(Exception):
    """A Webex call or the probe failed; the message says what to do about it."""

    def __init__(self, msg, status=None, attempts=0, tracking_id=None):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.attempts = attempts
        self.tracking_id = tracking_id

    def __str__(self):
        return self.msg


class _Transient(Exception):
    """A 429 or 5xx answer, retried by WebexClient.request."""

    def __init__(self, status, message, tracking_id, retry_after):
        super().__init__(status)
        self.status = status
        self.message = message
        self.tracking_id = tracking_id
        self.retry_after = retry_after


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turn a redirect into an HTTPError: following it would need the token on another URL."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def quote(text, limit=MAX_QUOTE):
    """``text`` in single quotes, shortened to ``limit`` characters, on one line."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def retry_after_seconds(value, now=None):
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date); None when absent or invalid."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def retry_delay(retry, retry_after, backoff=BACKOFF_BASE):
    """Seconds to wait before retry number ``retry`` (0-based): Retry-After when the server sent one,
    else exponential backoff (``backoff``, twice that, ...) capped at MAX_BACKOFF."""
    if retry_after is not None:
        return retry_after
    return min(backoff * (2**retry), MAX_BACKOFF)


def _is_loopback(host):
    """Whether ``host`` (a URL's host name) is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hide_userinfo(url):
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def token_scrubber(params):
    """The scrubber of a module's results and messages: its token (as given and stripped), the strings of its
    ``redact`` option, their prefixes, and any ``Bearer <anything>``."""
    token = params.get("token") or ""
    return Scrubber([token, token.strip(), *(params.get("redact") or ())], [BEARER])


def check_token(token, label):
    """The token, stripped; refuse one that is empty or could not travel in an HTTP header.

    http.client puts the whole header value into its own error for such tokens, so they are refused
    here without naming the value.
    """
    token = (token or "").strip()
    if not token:
        raise WebexError(f"{label} is empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) >= 127 for ch in token):
        raise WebexError(
            f"{label} contains whitespace, control or non-ASCII characters; pass the bare access token "
            "(without 'Bearer ')"
        )
    return token


class WebexClient:
    """Calls the Webex REST API with one token, retrying 429/5xx answers with backoff.

    ``deadline`` (a ``clock()`` value) bounds every retry and request timeout, so a caller with an
    overall timeout (the probe) never waits past it. ``attempts`` counts HTTP requests made and
    ``waits`` the seconds slept before each retry.
    """

    def __init__(
        self,
        token,
        base_url=DEFAULT_BASE_URL,
        request_timeout=10.0,
        max_retries=3,
        validate_certs=True,
        ca_path=None,
        use_proxy=True,
        allow_insecure_http=False,
        label="the token",
        redact=(),
        backoff=BACKOFF_BASE,
        deadline=None,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        self.label = label
        self._token = check_token(token, label)
        # Other secrets (the bot's own token) can come back in an answer too: a text posted and echoed.
        self._scrubber = Scrubber([self._token, *redact], [BEARER])
        base = (base_url or "").strip()
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebexError(
                f"base_url must be an http:// or https:// URL such as {DEFAULT_BASE_URL}, "
                f"not {quote(self.scrub(_hide_userinfo(base)))}"
            )
        if parts.username is not None or parts.password is not None:
            raise WebexError("base_url must not hold credentials (user:password@); the token is the only one")
        if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
            raise WebexError(
                f"base_url {quote(self.scrub(_hide_userinfo(base)))} is http:// to {parts.hostname}, which is not "
                "this machine: the token would cross the network unencrypted. Use https:// (such as "
                f"{DEFAULT_BASE_URL}), or set allow_insecure_http=true if the network to that host is trusted"
            )
        self.base_url = base if base.endswith("/") else base + "/"
        self.shown_base_url = _hide_userinfo(self.base_url)
        if request_timeout is None or request_timeout <= 0:
            raise WebexError(f"request_timeout must be a positive number of seconds, not {request_timeout}")
        if max_retries is None or max_retries < 0:
            raise WebexError(f"max_retries must be 0 or more, not {max_retries}")
        self.request_timeout = float(request_timeout)
        self.max_retries = int(max_retries)
        self.backoff = backoff
        self.deadline = deadline
        self._clock = clock
        self._sleep = sleep
        self.attempts = 0
        self.waits = []
        self._opener = urllib.request.build_opener(
            _RefuseRedirects(),
            urllib.request.HTTPSHandler(context=self._tls_context(validate_certs, ca_path)),
            # A proxy can never reach this machine's loopback, where the lab emulator listens.
            urllib.request.ProxyHandler(None if use_proxy and not _is_loopback(parts.hostname) else {}),
        )

    @staticmethod
    def _tls_context(validate_certs, ca_path):
        if not validate_certs:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if ca_path and not os.path.exists(ca_path):
            raise WebexError(f"ca_path {ca_path} does not exist")
        if ca_path and os.path.isdir(ca_path):
            return ssl.create_default_context(capath=ca_path)
        return ssl.create_default_context(cafile=ca_path or None)

    def scrub(self, value):
        """``value`` (a text, or a dict or list of them) without the token, its prefixes or a Bearer value."""
        return self._scrubber(value)

    def remaining(self):
        """Seconds left before ``deadline``; None without one."""
        return None if self.deadline is None else self.deadline - self._clock()

    # the Webex API

    def me(self):
        return self.request("GET", "people/me")

    def person(self, email=None, person_id=None):
        """The person (or bot) with this id or email."""
        if person_id:
            return self.request("GET", "people/" + urllib.parse.quote(person_id, safe=""))
        items = self.request("GET", "people", {"email": email}).get("items") or []
        if not items:
            raise WebexError(f"Webex knows no person or bot with the email {email}", status=404)
        return items[0]

    def send_message(self, room_id=None, to_person_email=None, to_person_id=None, text=None, markdown=None):
        body = {"roomId": room_id, "toPersonEmail": to_person_email, "toPersonId": to_person_id}
        body.update(text=text, markdown=markdown)
        return self.request("POST", "messages", body={k: v for k, v in body.items() if v is not None})

    def list_messages(self, room_id, max_messages=POLL_PAGE_SIZE):
        """The newest ``max_messages`` messages of a room, newest first."""
        return self.request("GET", "messages", {"roomId": room_id, "max": max_messages}).get("items") or []

    def get_message(self, message_id):
        return self.request("GET", "messages/" + urllib.parse.quote(message_id, safe=""))

    # HTTP

    def request(self, method, path, query=None, body=None):
        """One API call; returns the decoded JSON body. Retries 429 and 5xx answers ``max_retries`` times,
        waiting as Retry-After asks or with exponential backoff, never past ``deadline``."""
        url = self.base_url + path.lstrip("/")
        if query:
            url += "?" + urllib.parse.urlencode(query)
        call = f"{method} {_hide_userinfo(url)}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        attempts = 0
        while True:
            attempts += 1
            self.attempts += 1
            answer = self._once(method, url, data, call)
            if isinstance(answer, WebexError):
                answer.attempts = attempts
                raise answer
            if not isinstance(answer, _Transient):
                return answer
            delay = retry_delay(attempts - 1, answer.retry_after, self.backoff)
            gave_up = self._give_up(attempts, delay, answer.retry_after)
            if gave_up:
                times = "once" if attempts == 1 else f"{attempts} times"
                message = (
                    f"Webex answered {answer.status} to {call} {times}"
                    f"{_detail(answer.message, answer.tracking_id)}; {gave_up}"
                )
                raise WebexError(
                    self.scrub(message), status=answer.status, attempts=attempts, tracking_id=answer.tracking_id
                )
            self.waits.append(delay)
            self._sleep(delay)

    def _give_up(self, attempts, delay, retry_after):
        """Why not to retry now (a sentence), or None to retry after ``delay``."""
        if attempts > self.max_retries:
            return f"giving up after {self.max_retries} retries (max_retries)"
        remaining = self.remaining()
        if remaining is not None and delay >= remaining:
            return f"the next retry (in {delay:g}s) would fall after the timeout ({max(remaining, 0):.1f}s left)"
        if remaining is None and retry_after is not None and retry_after > MAX_RETRY_AFTER:
            return f"Retry-After asks to wait {retry_after:g}s, longer than the {MAX_RETRY_AFTER:g}s this task waits"
        return None

    def _timeout(self):
        remaining = self.remaining()
        if remaining is None:
            return self.request_timeout
        return min(self.request_timeout, max(remaining, MIN_REQUEST_TIMEOUT))

    def _once(self, method, url, data, call):
        """The decoded JSON answer, or the _Transient or WebexError to handle.

        Errors are returned, not raised: raised from here they would carry the urllib or http.client
        exception (whose text can hold the server's words) as their context.
        """
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (scheme checked in __init__)
        # Unredirected: urllib must never copy the token onto another request.
        request.add_unredirected_header("Authorization", "Bearer " + self._token)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json; charset=utf-8")
        timeout = self._timeout()
        try:
            with self._opener.open(request, timeout=timeout) as reply:
                payload = reply.read()
        except urllib.error.HTTPError as exc:
            return self._http_error(exc, call)
        except urllib.error.URLError as exc:
            return WebexError(self.scrub(self._unreachable(exc.reason, call, timeout)))
        except (TimeoutError, socket.timeout):  # noqa: UP041 - distinct before Python 3.10 (targets)
            return WebexError(self.scrub(f"no answer from {self.shown_base_url} within {timeout:g}s ({call})"))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # http.client puts a server's bad status line into BadStatusLine's text.
            return WebexError(self.scrub(f"{call} failed: {type(exc).__name__}: {quote(self.scrub(str(exc)))}"))
        if not payload:
            return {}
        try:
            return json.loads(payload.decode("utf-8"))
        except ValueError:
            shown = quote(self.scrub(payload.decode("utf-8", "replace")), 80)
        return WebexError(
            self.scrub(
                f"{call} answered something other than JSON ({shown}); "
                f"is base_url the Webex REST API (such as {DEFAULT_BASE_URL})?"
            )
        )

    def _http_error(self, exc, call):
        """The exception to raise for an HTTP error answer: _Transient (retried) or WebexError."""
        status = exc.code
        try:
            raw = exc.read()
        except (OSError, http.client.HTTPException):
            raw = b""
        finally:
            exc.close()
        message, tracking_id = _error_body(raw)
        # The body, the reason phrase and the headers are the server's words: scrubbed before any use.
        message = self.scrub(message or exc.reason or "")
        tracking_id = self.scrub(tracking_id or exc.headers.get("trackingid"))
        if status in TRANSIENT_STATUSES:
            return _Transient(status, message, tracking_id, retry_after_seconds(exc.headers.get("Retry-After")))
        detail = _detail(message, tracking_id)
        if status == 401:
            text = (
                f"{self.label} was refused (401) by {self.shown_base_url}{detail}; check that it is a valid, "
                "unexpired access token for this Webex (base_url)"
            )
        elif status == 403:
            text = f"{call} was forbidden (403) to the identity of {self.label}{detail}"
        elif status == 404:
            text = f"{call}: not found (404){detail}"
        elif 300 <= status < 400:
            location = _hide_userinfo(self.scrub(exc.headers.get("Location") or "elsewhere"))
            text = f"{call} was redirected ({status}) to {location}; set base_url to the API's final address"
        else:
            text = f"Webex refused {call} ({status}){detail}"
        return WebexError(self.scrub(text), status=status, tracking_id=tracking_id)

    def _unreachable(self, reason, call, timeout):
        host = urllib.parse.urlsplit(self.base_url).hostname
        if isinstance(reason, ConnectionRefusedError):
            return (
                f"cannot reach {self.shown_base_url}: connection refused ({call}); "
                "check base_url and that the service is up"
            )
        if isinstance(reason, socket.gaierror):
            return f"cannot reach {self.shown_base_url}: the host name {host} does not resolve ({reason.strerror})"
        if isinstance(reason, ssl.SSLCertVerificationError):
            return (
                f"the TLS certificate of {host} is not trusted ({reason.verify_message}); set ca_path to the CA "
                "that signs it, or validate_certs=false in a lab"
            )
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return f"no answer from {self.shown_base_url} within {timeout:g}s ({call})"
        return f"cannot reach {self.shown_base_url} ({call}): {reason}"


def _error_body(raw):
    """``message`` and ``trackingId`` of a Webex error body, when it is one."""
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    message = body.get("message")
    errors = body.get("errors")
    if not message and isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("description")
    return (str(message) if message else None), body.get("trackingId")


def _detail(message, tracking_id):
    text = f": {' '.join(str(message).split())}" if message else ""
    return text + (f" (trackingId {tracking_id})" if tracking_id else "")


def client_from_params(params, label, deadline=None, clock=time.monotonic, sleep=time.sleep):
    """A WebexClient from the options of doc fragment botfleet.deploy.webex."""
    return WebexClient(
        params["token"],
        base_url=params["base_url"],
        request_timeout=params["request_timeout"],
        max_retries=params["max_retries"],
        validate_certs=params["validate_certs"],
        ca_path=params["ca_path"],
        use_proxy=params["use_proxy"],
        allow_insecure_http=params.get("allow_insecure_http", False),
        label=label,
        redact=params.get("redact") or (),
        deadline=deadline,
        clock=clock,
        sleep=sleep,
    )
