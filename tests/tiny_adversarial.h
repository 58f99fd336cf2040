// Small adversarial settings for the strategy tests, so that SRAAL and VAAL select in a fraction
// of a second.
#pragma once

#include "sraal/config.h"

namespace sr::test {

inline AdversarialConfig tiny_adversarial() {
  AdversarialConfig a;
  a.iterations = 2, a.batch = 4, a.z_dim = 4, a.vaal_z_dim = 4, a.base_width = 2;
  a.disc_width = 8, a.vaal_disc_width = 8, a.stl_hidden = {8};
  return a;
}

}  // namespace sr::test
