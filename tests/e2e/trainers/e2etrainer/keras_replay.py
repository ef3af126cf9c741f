"""Replays, epoch by epoch, what real TensorFlow's Keras TensorBoard callback wrote
(``keras_runs/``, made by ``keras_runs/generate.py``) into ``<job-dir>/train/`` and
``<job-dir>/validation/``, as ``model.fit`` would: the same summaries, byte for byte TF's
values, with only their wall time moved to now (hpdash ignores events older than the trial).

``--validation-lag K`` writes validation's events of epoch e together with training's epoch
e + K (the rest after the last epoch), as Keras' buffered writers can deliver them late; the
validation run's folder does not exist until then.  Hyperparameter flags are ignored.
"""

import argparse
import glob
import os
import time

from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto import event_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_runs")


def _events(run: str) -> list[event_pb2.Event]:
    (path,) = glob.glob(os.path.join(RUNS, run, "events.out.tfevents.*"))
    events = [event_pb2.Event.FromString(raw) for raw in RawEventFileLoader(path).Load()]
    return [e for e in events if e.HasField("summary")]


def _epochs(train: list[event_pb2.Event], other: list[event_pb2.Event]
            ) -> tuple[list[list[event_pb2.Event]], list[list[event_pb2.Event]]]:
    """Both runs' events cut into epochs where training's next epoch begins."""
    starts = sorted({min(e.wall_time for e in train if e.step == s) for s in {e.step
                                                                              for e in train}})
    def bucket(events: list[event_pb2.Event]) -> list[list[event_pb2.Event]]:
        out: list[list[event_pb2.Event]] = [[] for _ in starts]
        for e in events:
            out[max(sum(1 for s in starts if s <= e.wall_time) - 1, 0)].append(e)
        return out
    return bucket(train), bucket(other)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--job-dir", required=True)
    p.add_argument("--epoch-sleep", type=float, default=0.2)
    p.add_argument("--validation-lag", type=int, default=0)
    a, _ = p.parse_known_args()
    train, validation = _epochs(_events("train"), _events("validation"))
    writers: dict[str, EventFileWriter] = {}

    def write(run: str, events: list[event_pb2.Event]) -> None:
        if run not in writers:
            writers[run] = EventFileWriter(os.path.join(a.job_dir, run))
        for e in events:
            e.wall_time = time.time()
            writers[run].add_event(e)
        writers[run].flush()

    for epoch, events in enumerate(train):
        time.sleep(a.epoch_sleep)
        write("train", events)
        if epoch >= a.validation_lag:
            write("validation", validation[epoch - a.validation_lag])
    for events in validation[max(len(train) - a.validation_lag, 0):]:
        time.sleep(a.epoch_sleep)
        write("validation", events)
    for w in writers.values():
        w.close()


if __name__ == "__main__":
    main()
