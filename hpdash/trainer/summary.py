"""For trainers: write scalar summaries exactly as TensorFlow does, without TensorFlow —
``tf.summary.scalar`` (TF2, a tensor scalar with the "scalars" plugin) or the TF1
``simple_value`` form — using the event-file writer that ships with ``tensorboard``."""

from __future__ import annotations

import time

from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


class ScalarWriter:
    def __init__(self, logdir: str, tf1: bool = False) -> None:
        self._writer = EventFileWriter(logdir)
        self._tf1 = tf1

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self._tf1:
            v = summary_pb2.Summary.Value(tag=tag, simple_value=value)
        else:
            v = summary_pb2.Summary.Value(
                tag=tag,
                tensor=tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[value]),
                metadata=summary_pb2.SummaryMetadata(
                    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")),
            )
        event = event_pb2.Event(step=step, wall_time=time.time(),
                                summary=summary_pb2.Summary(value=[v]))
        self._writer.add_event(event)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
