// valuelens' addition to node-llama-cpp's addon (compiled into it by scripts/build-addon.mjs).
//
// letterLogits(context, batchLogitIndex, tokens: Uint32Array) -> Float64Array
//   [max, argmax, sumExp, nVocab, logit(tokens[0]), logit(tokens[1]), ...]
//   over the raw next-token logits of one output of the last decoded batch, where
//   sumExp = sum over the whole vocabulary of exp(logit - max), accumulated in double.
//   A token's probability is exp(logit - max) / sumExp; the top token's is 1 / sumExp.
//   O(vocabulary) in C++, O(letters) in JS: no vocabulary-sized JS structure, no sort.
//   Called synchronously right after the decode (before the next one can start), so two
//   outputs of one batch are read one after the other on the main thread and cannot swap.
//
// copySequence(context, src, dst, p0, p1): llama_memory_seq_cp of the KV cells [p0, p1)
//   of sequence src to sequence dst (a shared prefix evaluated once, used by several lanes).
//
// features() -> ["letterLogits/1", "copySequence/1"]: what this build provides.
#include <cmath>
#include <cstring>
#include <limits>

#include "AddonContext.h"
#include "AddonModel.h"
#include "llama.h"
#include "napi.h"

static AddonContext* unwrapContext(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsObject()) {
        throw Napi::TypeError::New(info.Env(), "valuelens: expected an AddonContext");
    }
    AddonContext* context = Napi::ObjectWrap<AddonContext>::Unwrap(info[0].As<Napi::Object>());
    if (context == nullptr || context->disposed || context->ctx == nullptr) {
        throw Napi::Error::New(info.Env(), "valuelens: the context is disposed or not loaded");
    }
    return context;
}

// Eight floats at a time (GCC/Clang vector extensions; SSE2 or NEON code by default, AVX2 where
// the CPU has it: the same operations in the same order, so the same bits either way).
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VALUELENS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VALUELENS_CLONES
#endif

// exp(x) for x <= 0: x = n ln2 + r with |r| <= ln2/2, 2^n from the exponent bits, e^r by its
// Taylor polynomial to degree 7 (truncation below 6e-9 relative); float rounding keeps it within
// 1e-7 relative (measured over [-87, 0]). Below -87 (e^-87 = 1.6e-38) it returns 2^-126,
// nothing next to a sum that is at least 1.
static inline __attribute__((always_inline)) v8f expNonPositive(v8f x) {
    const v8f low = v8f{} - 87.0f;
    x = x < low ? low : x;
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    const v8f n = (x * 1.44269504088896341f + shifter) - shifter;
    const v8f r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;
    v8f p = v8f{} + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const v8i bits = (__builtin_convertvector(n, v8i) + 127) << 23;
    v8f scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Max and argmax (the first index of the max), then the sum over the vocabulary of
// exp(l - max): each term in float, accumulated in double, so the sum is exact to about 1e-7
// relative whatever the vocabulary's size (node-llama-cpp's softmax accumulates in float and
// drifts by up to 2e-5 over 128k terms). NaN anywhere gives NaN.
VALUELENS_CLONES
static double sumExpOverVocabulary(const float* logits, int32_t nVocab, float& maxOut, int32_t& argmaxOut) {
    const float negInf = -std::numeric_limits<float>::infinity();
    v8f m8 = v8f{} + negInf;
    v8i nan8 = v8i{};
    int32_t i = 0;
    for (; i + 8 <= nVocab; i += 8) {
        v8f x;
        std::memcpy(&x, logits + i, sizeof x);
        m8 = x > m8 ? x : m8;
        nan8 |= (x != x);
    }
    float maxf = negInf;
    bool nan = false;
    for (int k = 0; k < 8; k++) {
        maxf = m8[k] > maxf ? m8[k] : maxf;
        nan = nan || nan8[k] != 0;
    }
    for (; i < nVocab; i++) {
        maxf = logits[i] > maxf ? logits[i] : maxf;
        nan = nan || std::isnan(logits[i]);
    }
    int32_t argmax = 0;
    while (argmax < nVocab - 1 && !(logits[argmax] == maxf)) argmax++;
    maxOut = maxf;
    argmaxOut = argmax;
    if (nan || !std::isfinite(maxf)) return std::numeric_limits<double>::quiet_NaN();

    double sum = 0.0;
    i = 0;
    for (; i + 8 <= nVocab; i += 8) {
        v8f x;
        std::memcpy(&x, logits + i, sizeof x);
        const v8f e = expNonPositive(x - maxf);
        sum += ((double(e[0]) + e[1]) + (double(e[2]) + e[3])) + ((double(e[4]) + e[5]) + (double(e[6]) + e[7]));
    }
    if (i < nVocab) {
        v8f x = v8f{} + negInf;
        for (int k = 0; i + k < nVocab; k++) x[k] = logits[i + k];
        const v8f e = expNonPositive(x - maxf);
        for (int k = 0; i + k < nVocab; k++) sum += e[k];
    }
    return sum;
}

static Napi::Value letterLogits(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    AddonContext* context = unwrapContext(info);
    if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsTypedArray()) {
        throw Napi::TypeError::New(env, "valuelens: letterLogits(context, batchLogitIndex, Uint32Array)");
    }
    const int32_t batchLogitIndex = info[1].As<Napi::Number>().Int32Value();
    Napi::Uint32Array tokens = info[2].As<Napi::Uint32Array>();

    const llama_model* model = llama_get_model(context->ctx);
    const llama_vocab* vocab = llama_model_get_vocab(model);
    const int32_t nVocab = llama_vocab_n_tokens(vocab);
    const float* logits = llama_get_logits_ith(context->ctx, batchLogitIndex);
    if (logits == nullptr) {
        throw Napi::Error::New(env, "valuelens: no logits for this output of the last batch");
    }

    float maxf;
    int32_t argmax;
    const double sumExp = sumExpOverVocabulary(logits, nVocab, maxf, argmax);
    const double max = maxf;

    const size_t n = tokens.ElementLength();
    Napi::Float64Array out = Napi::Float64Array::New(env, 4 + n);
    out[0] = max;
    out[1] = argmax;
    out[2] = sumExp;
    out[3] = nVocab;
    for (size_t k = 0; k < n; k++) {
        const uint32_t t = tokens[k];
        out[4 + k] = t < static_cast<uint32_t>(nVocab) ? static_cast<double>(logits[t])
                                                       : std::numeric_limits<double>::quiet_NaN();
    }
    return out;
}

static Napi::Value copySequence(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    AddonContext* context = unwrapContext(info);
    if (info.Length() < 5) {
        throw Napi::TypeError::New(env, "valuelens: copySequence(context, src, dst, p0, p1)");
    }
    const llama_seq_id src = info[1].As<Napi::Number>().Int32Value();
    const llama_seq_id dst = info[2].As<Napi::Number>().Int32Value();
    const llama_pos p0 = info[3].As<Napi::Number>().Int32Value();
    const llama_pos p1 = info[4].As<Napi::Number>().Int32Value();
    llama_memory_seq_cp(llama_get_memory(context->ctx), src, dst, p0, p1);
    return env.Undefined();
}

static Napi::Value features(const Napi::CallbackInfo& info) {
    Napi::Array out = Napi::Array::New(info.Env(), 2);
    out.Set(uint32_t(0), Napi::String::New(info.Env(), "letterLogits/1"));
    out.Set(uint32_t(1), Napi::String::New(info.Env(), "copySequence/1"));
    return out;
}

void valuelensInit(Napi::Object exports) {
    Napi::Object valuelens = Napi::Object::New(exports.Env());
    valuelens.Set("letterLogits", Napi::Function::New(exports.Env(), letterLogits, "letterLogits"));
    valuelens.Set("copySequence", Napi::Function::New(exports.Env(), copySequence, "copySequence"));
    valuelens.Set("features", Napi::Function::New(exports.Env(), features, "features"));
    exports.Set("valuelens", valuelens);
}
