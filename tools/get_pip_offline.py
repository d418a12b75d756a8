"""Stand-in for the pip bootstrap script that ansible-test downloads (get-pip.py).

ansible-test fetches it from ci-files.testing.ansible.com, which the build
machines cannot reach; PyPI they can. This bootstraps pip from the
interpreter's own ensurepip, then lets that pip install the versions
ansible-test asked for. `make sanity` copies it into ansible-test's cache.
"""

import subprocess
import sys

# get-pip.py's own switches; everything else is a `pip install` argument.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main():
    # In a child process: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own
    # environment, which would hide the host's pip configuration (its CA bundle).
    subprocess.check_call([sys.executable, "-m", "ensurepip"])
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args])


if __name__ == "__main__":
    sys.exit(main())
