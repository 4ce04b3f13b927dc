#pragma once
// A background loop for a program's own chores (lease expiry, registration,
// discovery watches), apart from the server's workers: a plain
// rpc::LoopThread. stop() abandons what is still queued and joins; so does
// the destructor.
#include "rpc/loop_thread.h"

namespace routing::app {

using ControlLoop = rpc::LoopThread;

}  // namespace routing::app
