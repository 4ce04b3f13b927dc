#pragma once
// Proof that an answer belongs to its call, on the line protocol (which
// carries no call id). A ping is sent right behind each request; the server
// answers in order, so the frame after the call's answer must be that ping's
// `0:pong`. A backend that sends anything extra (an answer twice, a late
// answer) breaks the pattern, and the call fails (14) instead of being handed
// a frame that may be another call's answer; the connection is closed. The
// answer is held until its pong arrives (usually in the same read: our
// servers write both at once). RouterOptions::verify_answers turns it on for
// the router's backend connections; docs/reliability.md has the why and the
// cost. Tagged frames (CONTRACT §8) will match answers by id instead.
#include "rpc/codec.h"

#include <cstdint>
#include <string>

namespace routing::rpc {

// The ping that follows a request.
inline void append_barrier(std::string& out) { out.append("0:\n"); }

// Reads the frames of one call at a time: its answer, then its barrier's pong.
class AnswerBarrier {
 public:
  enum class Read { held, answered, broken };

  // `frame` is the next frame for the oldest call: its answer (held), or its
  // pong (then `frame` becomes the held answer: answered), or neither (broken).
  Read next(Frame& frame) {
    if (!holding_) {
      holding_ = true;
      held_number_ = frame.number;
      held_payload_.swap(frame.payload);  // both keep their capacity: no allocation per call
      return Read::held;
    }
    holding_ = false;
    if (frame.number != 0 || frame.payload != "pong") return Read::broken;
    frame.number = held_number_;
    frame.payload.swap(held_payload_);
    return Read::answered;
  }
  void reset() { holding_ = false; }

 private:
  bool holding_ = false;
  std::uint32_t held_number_ = 0;
  std::string held_payload_;
};

}  // namespace routing::rpc
