// Boost.Asio's implementation, compiled once for the whole project
// (BOOST_ASIO_SEPARATE_COMPILATION): keeps every other file's build light.
#include <boost/asio/impl/src.hpp>
