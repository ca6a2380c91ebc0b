"""Checkpointable merging windows (``EventTimeSessionWindows``) in PyFlink's thread mode.

Root cause of ``ClassCastException: VoidNamespace cannot be cast to TimeWindow`` in every
checkpoint of a session window in thread mode: PyFlink's embedded keyed state backend
(``pyflink.fn_execution.embedded.state_impl.KeyedStateBackend``) registers *every* state of a
window operator with the window's namespace serializer, including the ``merging-window-set`` map
in which the Python ``WindowOperator`` keeps the mapping of merged windows. That map is used, as
in Flink's Java ``WindowOperator``, without a namespace, i.e. in the ``VoidNamespace`` that
``getPartitionedState`` sets. The heap state backend stores the entries under ``VoidNamespace``
and the snapshot then writes their namespace with ``TimeWindow.Serializer``: the cast fails, the
checkpoint fails, and the job restarts in a loop. Java's own ``WindowOperator`` registers this
map with ``VoidNamespaceSerializer`` (upstream reports of the same exception for other operators
that mix the two: FLINK-28034, FLINK-18464, FLINK-23036).

:func:`register_merging_window_set_without_namespace` makes the embedded backend do what Java's
operator does: the ``merging-window-set`` state is registered with ``VoidNamespaceSerializer``.
Nothing else changes (window contents and trigger state keep the window namespace). A session
window's function calls it from ``open``, which PyFlink runs inside the Python worker before the
operator creates its states. Process mode keeps its state in the Beam runner and is not affected;
there the call does nothing.
"""

from __future__ import annotations

from pyflink.datastream.functions import ProcessWindowFunction

MERGING_WINDOW_SET = "merging-window-set"


def register_merging_window_set_without_namespace() -> bool:
    """Patch the embedded keyed state backend (thread mode) once per Python interpreter.

    Returns whether the patch is in place (False outside thread mode's embedded interpreter)."""
    try:
        from pyflink.fn_execution.embedded import state_impl
    except ImportError:  # process mode: pemja's Java bridge exists only inside the JVM
        return False
    backend = state_impl.KeyedStateBackend
    if getattr(backend, "_merging_window_set_without_namespace", False):
        return True
    create = backend._get_or_create_keyed_state

    def get_or_create_keyed_state(self, state_descriptor):
        if state_descriptor.name != MERGING_WINDOW_SET:
            return create(self, state_descriptor)
        return self._keyed_state_backend.getPartitionedState(
            state_impl.JVoidNamespace_INSTANCE,
            state_impl.JVoidNamespaceSerializer_INSTANCE,
            state_impl.to_java_state_descriptor(state_descriptor),
        )

    backend._get_or_create_keyed_state = get_or_create_keyed_state
    backend._merging_window_set_without_namespace = True
    return True


class MergingWindowFunction(ProcessWindowFunction):
    """Base class for the ``ProcessWindowFunction`` of a merging (session) window: makes the
    window's state checkpointable in thread mode (see the module docstring). Subclasses that
    override ``open`` call ``super().open(runtime_context)``."""

    def open(self, runtime_context) -> None:
        register_merging_window_set_without_namespace()
