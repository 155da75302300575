// A per-channel PReLU for training in one pass each way, as an MXNet extension operator
// (mx.library.load): out = x > 0 ? x : g[c]·x; dx = dy·(x > 0 ? 1 : g[c]); dg[c] = Σ dy·x over x <= 0.
// MXNet 1.9's own CPU LeakyReLU(prelu) backward is an order of magnitude slower, and the decomposition
// x + (g − 1)·min(x, 0) it replaces costs three elementwise passes each way.
#include <algorithm>
#include <cstring>
#include <vector>
#include "mxnet/lib_api.h"

using namespace mxnet::ext;

namespace {

// (channels, inner size) of an N×C×… tensor: the slope's channel is axis 1
void layout(const MXTensor& x, int64_t* n, int64_t* c, int64_t* inner) {
  *n = x.shape[0];
  *c = x.shape.size() > 1 ? x.shape[1] : 1;
  *inner = 1;
  for (size_t k = 2; k < x.shape.size(); ++k) *inner *= x.shape[k];
}

MXReturnValue forward(const std::unordered_map<std::string, std::string>& attrs,
                      std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs, const OpResource& res) {
  const float* x = inputs->at(0).data<float>();
  const float* g = inputs->at(1).data<float>();
  float* y = outputs->at(0).data<float>();
  int64_t n, c, inner;
  layout(inputs->at(0), &n, &c, &inner);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      const float s = g[j];
      const float* xp = x + (i * c + j) * inner;
      float* yp = y + (i * c + j) * inner;
      for (int64_t k = 0; k < inner; ++k) {  // branchless: vectorised
        const float v = xp[k];
        yp[k] = std::max(v, 0.f) + s * std::min(v, 0.f);
      }
    }
  }
  return MX_SUCCESS;
}

// inputs: the output gradient, then the forward inputs (x, g), then the forward output
MXReturnValue backward(const std::unordered_map<std::string, std::string>& attrs,
                       std::vector<MXTensor>* inputs, std::vector<MXTensor>* outputs, const OpResource& res) {
  const float* dy = inputs->at(0).data<float>();
  const float* x = inputs->at(1).data<float>();
  const float* g = inputs->at(2).data<float>();
  float* dx = outputs->at(0).data<float>();
  float* dg = outputs->at(1).data<float>();
  int64_t n, c, inner;
  layout(inputs->at(1), &n, &c, &inner);
  std::vector<double> sums(c, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) {
      const float s = g[j];
      const float* xp = x + (i * c + j) * inner;
      const float* dyp = dy + (i * c + j) * inner;
      float* dxp = dx + (i * c + j) * inner;
      // eight partial sums, so the reduction vectorises without reordering flags
      float acc[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
      int64_t k = 0;
      for (; k + 8 <= inner; k += 8) {
        for (int l = 0; l < 8; ++l) {
          const float v = xp[k + l], d = dyp[k + l];
          dxp[k + l] = v > 0.f ? d : s * d;
          acc[l] += d * std::min(v, 0.f);
        }
      }
      for (; k < inner; ++k) {
        const float v = xp[k], d = dyp[k];
        dxp[k] = v > 0.f ? d : s * d;
        acc[0] += d * std::min(v, 0.f);
      }
      sums[j] += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
  }
  for (int64_t j = 0; j < c; ++j) dg[j] = static_cast<float>(sums[j]);
  return MX_SUCCESS;
}

MXReturnValue parse_attrs(const std::unordered_map<std::string, std::string>& attrs, int* num_in, int* num_out) {
  *num_in = 2;
  *num_out = 1;
  return MX_SUCCESS;
}

MXReturnValue infer_type(const std::unordered_map<std::string, std::string>& attrs,
                         std::vector<int>* in_types, std::vector<int>* out_types) {
  if (in_types->at(0) != kFloat32) {
    MX_ERROR_MSG << "mtcnn_prelu: float32 data only";
    return MX_FAIL;
  }
  out_types->at(0) = in_types->at(0);
  return MX_SUCCESS;
}

MXReturnValue infer_shape(const std::unordered_map<std::string, std::string>& attrs,
                          std::vector<std::vector<unsigned int>>* in_shapes,
                          std::vector<std::vector<unsigned int>>* out_shapes) {
  const std::vector<unsigned int>& x = in_shapes->at(0);
  if (x.size() < 2) {
    MX_ERROR_MSG << "mtcnn_prelu: data needs a channel axis";
    return MX_FAIL;
  }
  in_shapes->at(1) = std::vector<unsigned int>{x[1]};
  out_shapes->at(0) = x;
  return MX_SUCCESS;
}

}  // namespace

REGISTER_OP(mtcnn_prelu)
.setForward(forward, "cpu")
.setBackward(backward, "cpu")
.setParseAttrs(parse_attrs)
.setInferType(infer_type)
.setInferShape(infer_shape);

MXReturnValue initialize(int version) {
  return version >= 10900 ? MX_SUCCESS : MX_FAIL;
}
