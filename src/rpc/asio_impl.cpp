// Boost.Asio's implementation, compiled once for the whole project. The
// project's other files see Asio with BOOST_ASIO_SEPARATE_COMPILATION; this
// one includes it header-only (the implementation comes with the headers)
// and is built with -fkeep-inline-functions, so that every function is
// emitted in the form an application using Asio header-only emits too
// (weak definitions, shared statics): see src/CMakeLists.txt.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel_error.hpp>
#include <boost/asio/ssl.hpp>  // etcds:// (discovery/etcd_stream.h)

#if !defined(BOOST_ASIO_HEADER_ONLY)
#error "asio_impl.cpp must be compiled header-only (without BOOST_ASIO_SEPARATE_COMPILATION)"
#endif
