#include "routing/connection_pool_impl.h"

namespace routing::core {

template class BasicPooledConnection<rpc::ClientConnection>;
template class BasicPooledConnection<rpc::BlockingConnection>;
template class BasicConnectionPool<rpc::ClientConnection>;
template class BasicConnectionPool<rpc::BlockingConnection>;

}  // namespace routing::core
