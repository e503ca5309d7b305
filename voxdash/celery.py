import os

from celery import Celery
from celery.signals import beat_init, worker_init
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

from voxdash.runtime import runtime_folders_ensure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxdash.settings")

app = Celery("voxdash")
# Every Celery setting lives in voxdash/settings.py under the CELERY_ prefix.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class _RedisChannel(kombu_redis.Channel):
    # Workaround for kombu 5.7's redis transport (settings' CELERY_BROKER_TRANSPORT uses it for
    # redis:// brokers). When Redis goes away while the worker holds unacknowledged messages
    # (acks_late, or a task waiting for its countdown), the consumer's teardown closes the channel
    # twice: the first close fails in its pending BRPOP read with a connection error, before the
    # channel is marked closed; then kombu detaches the transport from its Connection
    # (`transport.client = None`); the second close tries to restore the unacknowledged messages,
    # needs a fresh connection pool, reads `client.hostname` and raises AttributeError. That is
    # not a connection error, so Celery calls it "Unrecoverable error" and the worker exits.
    # Raising the connection error it really is lets the worker reconnect as it does for any
    # broker outage. Nothing is lost by skipping that restore: the messages are still in Redis's
    # unacked hash, restored after the visibility timeout (if Redis kept its data), and the sweep
    # (voxdash.sweep) re-queues the durable work in any case.
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection is closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(kombu_redis.Transport):
    Channel = _RedisChannel


@worker_init.connect
@beat_init.connect
def _make_runtime_folders(**kwargs) -> None:
    # Beat writes its schedule under VOXDASH_VAR_DIR, a worker on SQLite its database, and both
    # the embedded broker's queue.
    runtime_folders_ensure()
