"""An ack or requeue on a connection the broker has dropped must not kill the container: the broker already took
the unacked message back and will redeliver it (a RabbitMQ restart killed compliance this way: its batch handler's
ack raised ConnectionResetError, which nameko's consumer does not catch)."""
import pytest

from chassis.consumer import QueueConsumer


class DroppedConnectionMessage:
    """A delivered message whose channel's socket the broker has reset (what amqp raises on write)."""

    def __init__(self, error: OSError):
        self.error = error
        self.channel = type("Channel", (), {"connection": object()})()

    def ack(self) -> None:
        raise self.error

    def requeue(self) -> None:
        raise self.error


@pytest.mark.parametrize("error", [ConnectionResetError(104, "Connection reset by peer"),
                                   BrokenPipeError(32, "Broken pipe")])
def test_an_ack_or_requeue_on_a_dropped_connection_is_given_up_not_raised(error, caplog):
    consumer = QueueConsumer()
    consumer.ack_message(DroppedConnectionMessage(error))
    consumer.requeue_message(DroppedConnectionMessage(error))
    assert "will be redelivered" in caplog.text and "the broker has it back" in caplog.text


def test_other_errors_still_propagate():
    class Broken(DroppedConnectionMessage):
        def ack(self) -> None:
            raise ValueError("a bug, not a dropped connection")

    with pytest.raises(ValueError):
        QueueConsumer().ack_message(Broken(ConnectionResetError()))
