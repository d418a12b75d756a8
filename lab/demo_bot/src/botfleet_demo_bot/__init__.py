"""botfleet's demo bot: a real ``webex_bot`` bot for the lab.

Importing this package has no side effects (a release smoke-tests ``import botfleet_demo_bot``);
``python -m botfleet_demo_bot`` or the ``botfleet-demo-bot`` script starts the bot.
"""

__version__ = "0.1.2"
