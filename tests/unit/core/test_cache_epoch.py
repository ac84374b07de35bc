from portal.core import cache_epoch, db


def _engine(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    db.migrate(engine)
    return engine


def test_a_process_notices_each_new_epoch_once(tmp_path):
    engine = _engine(tmp_path)
    watcher = cache_epoch.Watcher()
    assert not watcher.changed(engine)  # first look: nothing to drop yet
    cache_epoch.bump(engine)
    assert watcher.changed(engine)
    assert not watcher.changed(engine)
    cache_epoch.bump(engine)
    assert watcher.changed(engine)


def test_an_epoch_started_before_the_first_look_is_taken_as_the_baseline(tmp_path):
    engine = _engine(tmp_path)
    cache_epoch.bump(engine)
    watcher = cache_epoch.Watcher()
    assert not watcher.changed(engine)


def test_a_bump_through_one_connection_is_seen_through_another_as_a_second_replica_would(tmp_path):
    here, there = _engine(tmp_path), db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
    replica = cache_epoch.Watcher()
    assert not replica.changed(there)
    cache_epoch.bump(here)
    assert replica.changed(there)
