"""``python -m oneroster_client.cli``: the ``oneroster`` command."""

import sys

from oneroster_client.cli import main

sys.exit(main())
