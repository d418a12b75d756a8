# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Options of the Webex REST client (module_utils/specs.webex_common_spec).
    DOCUMENTATION = r"""
options:
  token:
    description:
      - Access token of the Webex identity that makes the calls (a person, or a bot in direct messages).
      - Never logged and never part of a result or an error message. Keep it in a vault.
      - A refused token (HTTP 401) fails at once, without retries.
    type: str
    required: true
    version_added: 0.1.0
  base_url:
    description:
      - Base URL of the Webex REST API.
      - Point it at a local Webex emulator for a lab, for example V(http://127.0.0.1:8790/v1/).
      - C(http://) is refused unless the host is this machine (V(localhost), 127.0.0.0/8 or V(::1)) or
        O(allow_insecure_http=true), because the token would cross the network unencrypted.
      - Loopback URLs never go through a proxy, whatever O(use_proxy) says.
    type: str
    default: https://webexapis.com/v1/
    version_added: 0.1.0
  request_timeout:
    description:
      - Seconds to wait for the answer to one HTTP request.
    type: float
    default: 10.0
    version_added: 0.1.0
  max_retries:
    description:
      - How often one request is retried after a transient answer (HTTP 429 or 5xx), with exponential backoff
        (1, 2, 4, ... seconds) or as long as the answer's C(Retry-After) header asks.
      - A retried C(POST) may, rarely, post a message twice when Webex stored it but answered 5xx.
      - Errors that retrying cannot fix (401, 403, 404, a refused connection) fail at once.
    type: int
    default: 3
    version_added: 0.1.0
  validate_certs:
    description:
      - Verify the TLS certificate of O(base_url). Set V(false) only in a lab.
    type: bool
    default: true
    version_added: 0.1.0
  ca_path:
    description:
      - CA bundle file (or directory of hashed certificates) to verify O(base_url) against, for example the CA of
        an intercepting proxy. Defaults to the system's trust store.
    type: path
    version_added: 0.1.0
  use_proxy:
    description:
      - Use the proxy named in the C(https_proxy)/C(http_proxy) environment variables (honouring C(no_proxy)).
    type: bool
    default: true
    version_added: 0.1.0
  allow_insecure_http:
    description:
      - Accept an C(http://) O(base_url) whose host is not this machine, for example a Webex emulator on another
        host of a trusted lab network. The token then crosses that network unencrypted.
      - C(http://) to loopback is always accepted; C(https://) needs no such option.
    type: bool
    default: false
    version_added: 0.2.0
  redact:
    description:
      - Other secrets (such as the bot's own token) to mask, with every prefix of them of 8 characters or more,
        wherever O(token) is masked, in the text sent to Webex too (a failure quoted into a notification).
    type: list
    elements: str
    default: []
    version_added: 0.2.0
notes:
  - Any part of O(token) (8 characters or more) and any C(Bearer) value that an answer of the server quotes is
    masked in messages and results, before a quote is shortened.
  - The module calls Webex from wherever it runs. Run it on the controller (C(delegate_to=localhost)) when
    the bots' hosts cannot reach Webex or should not hold the token.
"""
