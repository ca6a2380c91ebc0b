"""In-memory stand-ins for the contexts Flink hands a Trigger or a window function: plain state
and timer bookkeeping, so a function's decisions can be called and checked without a cluster."""

from __future__ import annotations

from dataclasses import dataclass, field


class ValueState:
    def __init__(self):
        self._value = None

    def value(self):
        return self._value

    def update(self, value):
        self._value = value

    def clear(self):
        self._value = None


@dataclass
class TriggerContext:
    """One key's and one window's view, as in ``Trigger.TriggerContext``."""

    watermark: int = -(2**63)
    timers: set[int] = field(default_factory=set)
    states: dict[str, ValueState] = field(default_factory=dict)

    def get_current_watermark(self) -> int:
        return self.watermark

    def register_event_time_timer(self, time: int) -> None:
        self.timers.add(time)

    def delete_event_time_timer(self, time: int) -> None:
        self.timers.discard(time)

    def get_partitioned_state(self, descriptor) -> ValueState:
        return self.states.setdefault(descriptor.name, ValueState())


@dataclass
class WindowContext:
    """What a ``ProcessWindowFunction`` sees of its window: the window and its per-window state."""

    window_: object
    trigger: TriggerContext = field(default_factory=TriggerContext)

    def window(self):
        return self.window_

    def window_state(self):
        return self

    def get_state(self, descriptor) -> ValueState:
        return self.trigger.get_partitioned_state(descriptor)
