"""What start-up built is out of the cyclic collector's sight (main.settle_heap), so a full
collection under load does not walk the whole heap."""

from __future__ import annotations

import gc

from authsvc.composition import Components


async def test_the_started_apps_state_is_frozen(state: Components) -> None:
    assert gc.get_freeze_count() > 0
    tracked = gc.get_objects()
    assert all(o is not state for o in tracked)
    assert all(o is not state.introspector for o in tracked)
