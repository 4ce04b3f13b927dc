#pragma once
// routerd's own lease in its discovery (--register-as NAME, CONTRACT §11):
// its address (--advertise, else the listener's) registered under NAME, in
// its --zone, refreshed until routerd stops, and withdrawn first when it
// drains, so that clients (ProxyClient, routectl --proxy-discovery) stop
// choosing it before it stops answering.
#include "app/routerd_flags.h"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace routing::discovery {
class Discovery;
class Registration;
}  // namespace routing::discovery

namespace routing::app {

class SelfRegistration {
 public:
  // Starts registering `address` as `flags.register_as` on `executor`.
  SelfRegistration(const RouterdFlags& flags, boost::asio::any_io_executor executor, std::string address);
  ~SelfRegistration();
  // Withdraws the registration (bounded by a few seconds).
  void stop();

 private:
  std::unique_ptr<discovery::Discovery> discovery_;
  std::unique_ptr<discovery::Registration> registration_;
};

}  // namespace routing::app
