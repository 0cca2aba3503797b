"""``python -m salesql_frames``: the same as the ``salesql-frames`` command."""

from ._cli import main

raise SystemExit(main())
