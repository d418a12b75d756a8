# Copyright: botfleet contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A notification to a Webex room or person (webex_notify, the watchdog), through the client of
module_utils/webex_client.py."""

from __future__ import annotations

from ansible_collections.botfleet.deploy.plugins.module_utils.webex_client import WebexError


def describe_target(params):
    """Where a message goes, in words."""
    if params.get("room_id"):
        return f"room {params['room_id']}"
    return params.get("to_person_email") or f"person {params.get('to_person_id')}"


def post_notification(client, params):
    """Post ``params['markdown']`` to the room or person; return message_id and room_id."""
    markdown = params["markdown"]
    if not (markdown or "").strip():
        raise WebexError("markdown is empty; give the text of the notification")
    # The room is no place for a secret: a failure quoted into the text (a probe's answer) is scrubbed first.
    sent = client.send_message(
        room_id=params.get("room_id"),
        to_person_email=params.get("to_person_email"),
        to_person_id=params.get("to_person_id"),
        markdown=client.scrub(markdown),
    )
    return client.scrub({"message_id": sent.get("id"), "room_id": sent.get("roomId")})
