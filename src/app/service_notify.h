#pragma once
// Tells the service manager (systemd, Type=notify units in
// packaging/systemd/) where a server is in its life: ready once listening,
// reloading around SIGHUP, stopping when draining starts. Each is a no-op
// when NOTIFY_SOCKET is unset (not started by systemd), so the servers call
// them unconditionally. serve_until_signal (run.cpp) is the one caller.
namespace routing::app {

void notify_ready();
// RELOADING=1 with MONOTONIC_USEC (systemd wants both), before a reload;
// notify_ready() again after it, whether the reload passed or not.
void notify_reloading();
void notify_stopping();

}  // namespace routing::app
