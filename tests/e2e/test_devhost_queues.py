"""devhost's queue rules, each as the Functions host applies them: retry delay, poison, encoding, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.host import REPO_ROOT, LocalHost
from devhost.hostjson import HostSettings
from devhost.queues import QueuePoller
from tests.e2e.sample import SAMPLE, host_settings, messages, raw_queue, send, stored


def host_json(directory: Path, **queues: object) -> HostSettings:
    """host.json as written in ``directory``, with these ``extensions.queues`` settings, loaded by devhost."""
    path = directory / "host.json"
    path.write_text(json.dumps({"version": "2.0", "extensions": {"queues": queues}}), encoding="utf-8")
    return HostSettings.load(path)


def test_failed_message_waits_out_the_visibility_timeout(settings: dict[str, str], tmp_path: Path) -> None:
    """After a failure the message stays queued but cannot be received until visibilityTimeout has passed."""
    with LocalHost(
        app_module=SAMPLE, settings=settings, host_settings=host_json(tmp_path, visibilityTimeout="00:00:30")
    ) as host:
        work = host.queues["work"]
        send(settings, {"say": "fail-once"})
        assert work.poll_once() == 1
        assert work.stats.failed == 1
        assert work.poll_once() == 0  # invisible: the retry delay is running
        assert raw_queue(settings["AzureWebJobsStorage"], settings["SAMPLE_QUEUE"]).receive_message() is None
        assert work.pending() == 1  # ...yet still there, not lost and not poisoned
        assert work.stats.poisoned == 0


def test_function_runs_exactly_max_dequeue_count_times(host: LocalHost, settings: dict[str, str]) -> None:
    """The maxDequeueCount-th failure moves the message to poison at once; there is no extra receive."""
    work = host.queues["work"]
    send(settings, {"say": "fail"})
    for attempt in (1, 2, 3):
        assert work.poll_once() == 1, f"attempt {attempt}"
    assert (work.stats.failed, work.stats.poisoned) == (3, 1)
    assert work.pending() == 0
    poison = messages(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-poison")
    assert [json.loads(m) for m in poison] == [{"say": "fail"}]


def test_message_dequeued_too_often_is_poisoned_without_running(
    host: LocalHost, settings: dict[str, str]
) -> None:
    """A message already dequeued maxDequeueCount times (e.g. by a crashed instance) goes to poison unrun."""
    send(settings, {"say": "fine"})
    queue = raw_queue(settings["AzureWebJobsStorage"], settings["SAMPLE_QUEUE"])
    for _ in range(3):  # three receives that never finished: the lease is dropped each time
        message = queue.receive_message()
        assert message is not None
        queue.update_message(message, message.pop_receipt, visibility_timeout=0)
    work = host.queues["work"]
    assert work.poll_once() == 1
    assert (work.stats.succeeded, work.stats.failed, work.stats.poisoned) == (0, 0, 1)
    assert stored(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-done") == []
    poison = messages(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-poison")
    assert [json.loads(m) for m in poison] == [{"say": "fine"}]


def test_message_encoding_none_reads_and_writes_plain_text(settings: dict[str, str]) -> None:
    """With messageEncoding none, the trigger reads plain text and the outputs write plain text."""
    with LocalHost(
        app_module=SAMPLE, settings=settings, host_settings=host_settings(encoding="none")
    ) as host:
        raw_queue(settings["AzureWebJobsStorage"], settings["SAMPLE_QUEUE"]).send_message('{"say": "plain"}')
        assert host.drain(timeout=30)
        assert host.queues["work"].stats.succeeded == 1
        [done] = stored(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-done")
        assert json.loads(done)["say"] == "plain"


def test_output_that_cannot_be_sent_fails_the_invocation(host: LocalHost, settings: dict[str, str]) -> None:
    """An output too large for a queue fails the invocation: retried, then poisoned; the poller survives."""
    work = host.queues["work"]
    send(settings, {"say": "big"})
    send(settings, {"say": "fine"})
    assert work.poll_once() == 2  # RequestBodyTooLarge from storage does not escape the poll
    assert (work.stats.failed, work.stats.succeeded) == (1, 1)
    assert host.drain(timeout=30)
    assert (work.stats.failed, work.stats.poisoned) == (3, 1)
    poison = messages(settings["AzureWebJobsStorage"], f"{settings['SAMPLE_QUEUE']}-poison")
    assert [json.loads(m) for m in poison] == [{"say": "big"}]


def test_storage_failure_after_the_invocation_is_contained(host: LocalHost, settings: dict[str, str]) -> None:
    """A delete that fails (the lease was taken meanwhile) is counted and logged; the batch goes on."""
    work = host.queues["work"]
    send(settings, {"say": "steal"})
    send(settings, {"say": "fine"})
    assert work.poll_once() == 2
    assert (work.stats.succeeded, work.stats.storage_errors) == (2, 1)
    assert work.pending() == 1  # the stolen message was not deleted: it will be delivered again


def test_background_poller_survives_a_failed_poll(host: LocalHost, settings: dict[str, str]) -> None:
    """A poll that fails (the queue is gone) is logged and backed off; the next poll works again."""
    work = host.queues["work"]
    poller = QueuePoller(work, max_delay=2.0)
    work.queue.delete_queue()
    assert poller.step() == QueuePoller.FIRST_DELAY
    assert poller.step() == 2 * QueuePoller.FIRST_DELAY  # backing off while nothing arrives
    work.queue.create_queue()
    send(settings, {"say": "fine"})
    assert poller.step() == 0.0  # received: poll again at once
    assert work.stats.succeeded == 1
    assert poller.step() == QueuePoller.FIRST_DELAY


def test_host_json_queue_settings(tmp_path: Path) -> None:
    """Every queue setting devhost honours is read from host.json, with the host's defaults."""
    queues = host_json(
        tmp_path,
        batchSize=4,
        maxDequeueCount=2,
        visibilityTimeout="00:01:30",
        maxPollingInterval="00:00:05",
        messageEncoding="None",
    ).queues
    assert (queues.batch_size, queues.max_dequeue_count, queues.visibility_timeout) == (4, 2, 90)
    assert (queues.max_polling_interval, queues.message_encoding) == (5, "none")
    defaults = host_json(tmp_path).queues
    assert (defaults.batch_size, defaults.max_dequeue_count, defaults.visibility_timeout) == (16, 5, 0)
    assert (defaults.max_polling_interval, defaults.message_encoding) == (60, "base64")
    assert HostSettings.load(REPO_ROOT / "host.json").queues.visibility_timeout == 30


@pytest.mark.parametrize(
    ("queues", "problem"),
    [({"messageEncoding": "utf8"}, "messageEncoding"), ({"batchSize": 33}, "batchSize")],
)
def test_host_json_rejects_what_the_host_rejects(
    tmp_path: Path, queues: dict[str, object], problem: str
) -> None:
    """An encoding other than base64/none, or a batch size over 32, stops the host from starting."""
    with pytest.raises(ValueError, match=problem):
        host_json(tmp_path, **queues)
