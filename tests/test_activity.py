"""Every action the audit log records has words for the activity lists: no raw code reaches a screen."""

import re

from portal.activity import ACTION_LABELS
from portal.config import PROJECT_ROOT


def test_every_recorded_action_has_a_label():
    recorded = set()
    for path in (PROJECT_ROOT / "portal").rglob("*.py"):
        recorded |= set(re.findall(r"""\brecord\(\s*["']([a-z_]+)["']""", path.read_text()))
    assert recorded, "no audit.record calls found"
    assert recorded - set(ACTION_LABELS) == set()
