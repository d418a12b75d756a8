"""A local Webex emulator for the botfleet lab.

It speaks just enough of the Webex cloud (U2C catalog, WDM device registration, the Mercury
websocket and the REST API under ``/v1/``) for real ``webex_bot`` processes and the
``webex_probe`` module to run against 127.0.0.1, and it can inject the incident's failure modes
through a loopback-only admin API. See README.md in this directory.
"""

__version__ = "0.1.0"
