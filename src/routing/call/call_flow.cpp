#include "routing/call/call_flow_impl.h"
#include "routing/call/pools.h"

namespace routing::core {

template class CallFlow<LoopPools>;
template class CallFlow<BlockingPools>;

}  // namespace routing::core
