from portal.core import cache_epoch


def test_a_process_notices_each_new_epoch_once(tmp_path):
    watcher = cache_epoch.Watcher()
    assert not watcher.changed(tmp_path)  # first look: nothing to drop yet
    cache_epoch.bump(tmp_path)
    assert watcher.changed(tmp_path)
    assert not watcher.changed(tmp_path)
    cache_epoch.bump(tmp_path)
    assert watcher.changed(tmp_path)


def test_an_epoch_started_before_the_first_look_is_taken_as_the_baseline(tmp_path):
    cache_epoch.bump(tmp_path)
    watcher = cache_epoch.Watcher()
    assert not watcher.changed(tmp_path)
