// Boost.Beast's implementation, compiled once: header-only with
// -fkeep-inline-functions, as asio_impl.cpp and for the same reasons
// (src/CMakeLists.txt). The project's other files see Beast with
// BOOST_BEAST_SEPARATE_COMPILATION.
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>

#if defined(BOOST_BEAST_SEPARATE_COMPILATION)
#error "beast_impl.cpp must be compiled header-only (without BOOST_BEAST_SEPARATE_COMPILATION)"
#endif

// With separate compilation Beast's headers leave the parser's members to
// these instantiations (as beast/src.hpp makes them); like every template
// instantiation they are weak, so an application's own copies merge.
template class boost::beast::http::basic_parser<true>;
template class boost::beast::http::basic_parser<false>;
