#include "service/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <ctime>
#include <utility>

namespace mdfs::service {
namespace {

// Below this there is no point starting an attempt (and 0 would mean "no timeout" to curl).
constexpr Millis kMinAttemptTime{5};
// Keep-alive probes on idle pooled connections, so a dead peer is noticed.
constexpr long kKeepIdleSeconds = 30;
constexpr long kKeepIntervalSeconds = 10;
// Debug lines are for people; a line longer than this is cut.
constexpr std::size_t kMaxDebugLine = 400;
constexpr std::size_t kMaxHeaderValue = 128;

struct CurlDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

// nullopt when libcurl runs out of memory.
std::optional<Slist> makeSlist(const std::vector<std::string>& lines) {
  Slist list;
  for (const std::string& line : lines) {
    curl_slist* head = curl_slist_append(list.get(), line.c_str());
    if (head == nullptr) return std::nullopt;
    (void)list.release();  // `head` is the same list, grown by one
    list.reset(head);
  }
  return list;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

bool containsIgnoreCase(std::string_view text, std::string_view needle) {
  if (needle.size() > text.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    if (equalsIgnoreCase(text.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Seconds ("120") or an HTTP date; nullopt for anything else.
std::optional<Seconds> parseRetryAfter(std::string_view value) {
  if (value.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    return Seconds(std::clamp<long long>(seconds, 0, 86400));
  }
  const std::string text(value);
  const time_t when = curl_getdate(text.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return Seconds(std::clamp<long long>(when - std::time(nullptr), 0, 86400));
}

// A fixed set of easy handles, each used by one thread at a time. The most recently used
// handle is handed out first, so sequential requests keep one warm connection.
class HandlePool {
 public:
  explicit HandlePool(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

  // A handle for the caller alone, or nullptr when none frees up before the deadline.
  CURL* acquire(Deadline deadline) {
    UniqueLock lock(mu_);
    for (;;) {
      if (!idle_.empty()) {
        CURL* handle = idle_.back();
        idle_.pop_back();
        return handle;
      }
      if (all_.size() < capacity_) {
        CurlHandle handle(curl_easy_init());
        if (!handle) return nullptr;
        all_.push_back(std::move(handle));
        return all_.back().get();
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty()) {
        return nullptr;
      }
    }
  }

  void release(CURL* handle) {
    {
      MutexLock lock(mu_);
      idle_.push_back(handle);
    }
    cv_.notify_one();
  }

 private:
  const std::size_t capacity_;
  Mutex mu_;
  CondVar cv_;
  std::vector<CurlHandle> all_ GUARDED_BY(mu_);
  std::vector<CURL*> idle_ GUARDED_BY(mu_);
};

class Lease {
 public:
  Lease(HandlePool& pool, CURL* handle) : pool_(pool), handle_(handle) {}
  ~Lease() {
    if (handle_ != nullptr) pool_.release(handle_);
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  [[nodiscard]] CURL* get() const { return handle_; }

 private:
  HandlePool& pool_;
  CURL* handle_;
};

// libcurl keeps process-wide state (TLS library setup). With a thread-safe libcurl
// curl_global_init/cleanup are reference-counted, so each transport holds one reference.
class CurlGlobal {
 public:
  CurlGlobal() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}
  ~CurlGlobal() {
    if (ok_) curl_global_cleanup();
  }
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;

 private:
  bool ok_;
};

// What one transfer collects through libcurl's callbacks.
struct Transfer {
  Transfer(std::size_t limit, const std::atomic<bool>* stopping, const std::atomic<bool>* cancel)
      : cap(limit), closing(stopping), cancelled(cancel) {}
  std::size_t cap;
  const std::atomic<bool>* closing;    // the transport's
  const std::atomic<bool>* cancelled;  // the request's own, or null
  std::string body;
  bool over_cap = false;
  bool answered = false;  // a status line arrived: the service is alive, however slow
  std::string request_id;
  std::string retry_after;
  std::string etag;
  std::string metadata_flavor;
  std::string location;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (n > transfer->cap - transfer->body.size()) {
    transfer->over_cap = true;
    return 0;  // libcurl aborts the transfer with CURLE_WRITE_ERROR
  }
  transfer->body.append(data, n);
  return n;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  if (line.starts_with("HTTP/")) {
    // A new response (after "100 Continue") starts over.
    transfer->answered = true;
    transfer->request_id.clear();
    transfer->retry_after.clear();
    transfer->etag.clear();
    transfer->metadata_flavor.clear();
    transfer->location.clear();
    return n;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  const std::string_view name = trim(line.substr(0, colon));
  const std::string_view value = trim(line.substr(colon + 1)).substr(0, kMaxHeaderValue);
  if (equalsIgnoreCase(name, "X-Request-Id")) transfer->request_id = value;
  if (equalsIgnoreCase(name, "Retry-After")) transfer->retry_after = value;
  if (equalsIgnoreCase(name, "ETag")) transfer->etag = value;
  if (equalsIgnoreCase(name, "Metadata-Flavor")) transfer->metadata_flavor = value;
  if (equalsIgnoreCase(name, "Location")) transfer->location = value;
  return n;
}

struct DebugContext {
  const Logger* log;
  bool secret_response;
};

// Lines that could carry a credential are dropped whole, whatever part of libcurl wrote
// them (request headers, or informational text that echoes headers).
bool mayHoldCredential(std::string_view line) {
  return containsIgnoreCase(line, "authorization") || containsIgnoreCase(line, "bearer") ||
         containsIgnoreCase(line, "cookie") || containsIgnoreCase(line, "access_token");
}

void logDebugLines(const DebugContext& ctx, std::string_view prefix, std::string_view text) {
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    line = trim(line);
    if (line.empty() || mayHoldCredential(line)) continue;
    std::string out(prefix);
    for (char c : line.substr(0, kMaxDebugLine)) {
      out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    }
    ctx.log->debug(out);
  }
}

// CURLOPT_DEBUGFUNCTION: request lines and headers without credentials, response headers,
// and only the sizes of bodies (a token response body is a secret; user data is private).
int onDebug(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size, void* user) {
  const auto& ctx = *static_cast<const DebugContext*>(user);
  const std::string_view text(data, size);
  switch (type) {
    case CURLINFO_TEXT:
      logDebugLines(ctx, "curl: * ", text);
      break;
    case CURLINFO_HEADER_OUT:
      logDebugLines(ctx, "curl: > ", text);
      break;
    case CURLINFO_HEADER_IN:
      logDebugLines(ctx, "curl: < ", text);
      break;
    case CURLINFO_DATA_OUT:
      ctx.log->debug("curl: > [" + std::to_string(size) + " bytes of request body]");
      break;
    case CURLINFO_DATA_IN:
      ctx.log->debug("curl: < [" + std::to_string(size) + " bytes of response body" +
                     (ctx.secret_response ? ", secret" : "") + "]");
      break;
    default:  // TLS records
      break;
  }
  return 0;
}

// Sets options in order and remembers the first failure.
class OptionSetter {
 public:
  explicit OptionSetter(CURL* handle) : handle_(handle) {}
  template <class T>
  void operator()(CURLoption option, T value) {
    if (result_ == CURLE_OK) result_ = curl_easy_setopt(handle_, option, value);
  }
  [[nodiscard]] CURLcode result() const { return result_; }

 private:
  CURL* handle_;
  CURLcode result_ = CURLE_OK;
};

bool hasHeader(const std::vector<std::string>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const std::string& header) {
    return header.size() > name.size() && header[name.size()] == ':' &&
           equalsIgnoreCase(std::string_view(header).substr(0, name.size()), name);
  });
}

// The request's headers, plus "Expect:" (no 100-continue round trip) and, for a body
// without a declared type, "Content-Type:" (libcurl would otherwise claim a form).
std::vector<std::string> headerLines(const HttpRequest& request) {
  std::vector<std::string> lines = request.headers;
  if (request.method != "GET") {
    lines.emplace_back("Expect:");
    if (!hasHeader(lines, "Content-Type")) lines.emplace_back("Content-Type:");
  }
  return lines;
}

bool isSupportedMethod(std::string_view method) {
  return method == "GET" || method == "PUT" || method == "POST";
}

void setMethod(OptionSetter& set, const HttpRequest& request) {
  if (request.method == "GET") {
    set(CURLOPT_HTTPGET, 1L);
    return;
  }
  if (request.method == "PUT") {
    set(CURLOPT_CUSTOMREQUEST, "PUT");
  } else {
    set(CURLOPT_POST, 1L);
  }
  set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  set(CURLOPT_POSTFIELDS, request.body.c_str());
}

std::string millisText(Millis ms) {
  return std::to_string(ms.count()) + " ms";
}

TransferError makeTransferError(Outcome outcome, std::string message) {
  return TransferError{outcome, outcomeError(outcome, std::move(message))};
}

bool isTlsVerificationFailure(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return true;
    default:
      return false;
  }
}

bool isConfigurationFailure(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return true;
    default:
      return false;
  }
}

// What a reused connection yields when earlier bytes were left on it: no status line
// (HTTP/0.9 refused), a garbled one, or nothing at all.
bool isMalformedAnswer(CURLcode rc) {
  return rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_WEIRD_SERVER_REPLY ||
         rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR;
}

}  // namespace

std::optional<std::string> resolveEntry(std::string_view endpoint, std::string_view address) {
  std::string_view rest;
  std::string port;
  if (endpoint.starts_with("http://")) {
    rest = endpoint.substr(7);
    port = "80";
  } else if (endpoint.starts_with("https://")) {
    rest = endpoint.substr(8);
    port = "443";
  } else {
    return std::nullopt;
  }
  rest = rest.substr(0, rest.find('/'));
  std::string_view host = rest;
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty()) return std::nullopt;
  return std::string(host) + ":" + port + ":" + std::string(address);
}

std::vector<std::string> defaultResolve(std::string_view endpoint) {
  std::optional<std::string> entry = resolveEntry(endpoint, kMetadataAddress);
  if (!entry) return {};
  for (std::string_view host : {kMetadataHost, kGoogleMetadataHost}) {
    if (entry->starts_with(std::string(host) + ":")) return {std::move(*entry)};
  }
  return {};
}

struct HttpTransport::Impl {
  Impl(TransportOptions opts, const Logger& logger)
      : options(std::move(opts)), log(logger), pool(options.pool_size) {
    if (auto list = makeSlist(options.resolve)) resolve = std::move(*list);
#ifdef CURL_VERSION_THREADSAFE
    // libcurl 7.84 added the flag. Before it, global initialisation was never thread-safe,
    // which the daemon respects by creating its transport before it starts any thread.
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    if ((info->features & CURL_VERSION_THREADSAFE) == 0) {
      log.warning("libcurl " + std::string(info->version) +
                  " is not built thread-safe; create HttpTransports from one thread only");
    }
#endif
  }

  HttpResult run(CURL* handle, const HttpRequest& request, Deadline deadline);
  // One curl_easy_perform; `poisoned` tells that a reused connection answered garbage.
  HttpResult attempt(CURL* handle, const HttpRequest& request, Deadline deadline, bool fresh,
                     bool& poisoned);
  // The options that are the same for every request: safety, TLS, limits, keep-alive.
  void applyPolicy(OptionSetter& set) const;
  CURLcode configure(CURL* handle, const HttpRequest& request, curl_slist* headers,
                     Transfer& transfer, DebugContext& debug, char* errbuf, Millis left) const;
  [[nodiscard]] TransferError failure(CURLcode rc, const HttpRequest& request,
                                      const Transfer& transfer, const char* errbuf,
                                      Millis timeout) const;

  CurlGlobal global;  // first member: released after every handle
  TransportOptions options;
  const Logger& log;
  Slist resolve;
  HandlePool pool;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<bool> closing{false};
  Mutex close_mu;
  CondVar closed;
};

namespace {

// CURLOPT_XFERINFOFUNCTION, called about once a second during a transfer: a non-zero
// answer aborts it (CURLE_ABORTED_BY_CALLBACK).
int onProgress(void* user, curl_off_t /*dltotal*/, curl_off_t /*dlnow*/, curl_off_t /*ultotal*/,
               curl_off_t /*ulnow*/) {
  const auto* transfer = static_cast<const Transfer*>(user);
  const bool cancelled = transfer->cancelled != nullptr && transfer->cancelled->load();
  return transfer->closing->load() || cancelled ? 1 : 0;
}

}  // namespace

void HttpTransport::Impl::applyPolicy(OptionSetter& set) const {
  set(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85 replaced the bitmask with a list
  set(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  set(CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  set(CURLOPT_FOLLOWLOCATION, 0L);
  // HTTP/1.1 only: nothing to gain from h2 here, and its verbose text echoes headers.
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  // An empty CURLOPT_PROXY disables proxies, including those named by the environment.
  set(CURLOPT_PROXY, options.proxy.c_str());
  if (options.proxy.empty()) set(CURLOPT_NOPROXY, "*");
  set(CURLOPT_SSL_VERIFYPEER, 1L);
  set(CURLOPT_SSL_VERIFYHOST, 2L);
  if (!options.cacert.empty()) set(CURLOPT_CAINFO, options.cacert.c_str());
  if (resolve) set(CURLOPT_RESOLVE, resolve.get());
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes));
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_TCP_KEEPIDLE, kKeepIdleSeconds);
  set(CURLOPT_TCP_KEEPINTVL, kKeepIntervalSeconds);
  set(CURLOPT_USERAGENT, "metadatafs");
}

CURLcode HttpTransport::Impl::configure(CURL* handle, const HttpRequest& request,
                                        curl_slist* headers, Transfer& transfer,
                                        DebugContext& debug, char* errbuf, Millis left) const {
  OptionSetter set(handle);
  set(CURLOPT_ERRORBUFFER, errbuf);
  applyPolicy(set);
  set(CURLOPT_URL, request.url.c_str());
  set(CURLOPT_CONNECTTIMEOUT_MS,
      static_cast<long>(std::min(options.connect_timeout, left).count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(std::min(options.attempt_timeout, left).count()));
  set(CURLOPT_HTTPHEADER, headers);
  set(CURLOPT_WRITEFUNCTION, onBody);
  set(CURLOPT_WRITEDATA, &transfer);
  set(CURLOPT_HEADERFUNCTION, onHeader);
  set(CURLOPT_HEADERDATA, &transfer);
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION, onProgress);
  set(CURLOPT_XFERINFODATA, &transfer);
  setMethod(set, request);
  if (options.wire_trace && log.enabled(LogLevel::debug)) {
    set(CURLOPT_VERBOSE, 1L);
    set(CURLOPT_DEBUGFUNCTION, onDebug);
    set(CURLOPT_DEBUGDATA, &debug);
  }
  return set.result();
}

TransferError HttpTransport::Impl::failure(CURLcode rc, const HttpRequest& request,
                                           const Transfer& transfer, const char* errbuf,
                                           Millis timeout) const {
  const std::string what = request.method + " " + request.url;
  const std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    // A service that began to answer (a slow or never-ending body) is not an outage: the
    // other endpoints must not be held back for it.
    TransferError timed_out = makeTransferError(
        Outcome::timed_out,
        what + (transfer.answered ? ": answer not complete within " : ": no answer within ") +
            millisText(timeout) + " (" + detail + ")");
    timed_out.silent = !transfer.answered;
    return timed_out;
  }
  if (transfer.over_cap || rc == CURLE_FILESIZE_EXCEEDED) {
    return makeTransferError(Outcome::oversized, what + ": response larger than the limit of " +
                                                     std::to_string(options.max_response_bytes) +
                                                     " bytes");
  }
  if (isTlsVerificationFailure(rc)) {
    return makeTransferError(Outcome::tls_failure, "TLS certificate verification failed for " +
                                                       request.url + ": " + detail);
  }
  if (isConfigurationFailure(rc)) {
    return makeTransferError(Outcome::misconfigured, what + ": " + detail);
  }
  TransferError unreachable = makeTransferError(Outcome::unreachable, what + ": " + detail);
  unreachable.silent = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
  return unreachable;
}

HttpResult HttpTransport::Impl::run(CURL* handle, const HttpRequest& request, Deadline deadline) {
  if (remaining(deadline) < kMinAttemptTime) {
    return makeTransferError(Outcome::timed_out,
                             request.method + " " + request.url + ": deadline reached");
  }
  if (!isSupportedMethod(request.method)) {
    return makeTransferError(Outcome::misconfigured,
                             "unsupported HTTP method " + request.method + " for " + request.url);
  }
  bool poisoned = false;
  HttpResult result = attempt(handle, request, deadline, false, poisoned);
  // Bytes a previous response left on a kept-alive connection (a Content-Length shorter
  // than its body) read as garbage here. libcurl has closed that connection; the request
  // itself was never answered, so it goes once more on a new one.
  if (poisoned && remaining(deadline) >= kMinAttemptTime) {
    log.debug(request.method + " " + request.url +
              ": malformed answer on a reused connection; trying a new connection");
    result = attempt(handle, request, deadline, true, poisoned);
  }
  return result;
}

HttpResult HttpTransport::Impl::attempt(CURL* handle, const HttpRequest& request, Deadline deadline,
                                        bool fresh, bool& poisoned) {
  const Millis left = remaining(deadline);
  std::optional<Slist> headers = makeSlist(headerLines(request));
  if (!headers) {
    return makeTransferError(Outcome::unreachable, request.method + " " + request.url +
                                                       ": out of memory building headers");
  }
  Transfer transfer(options.max_response_bytes, &closing, request.cancel);
  DebugContext debug{&log, request.secret_response};
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  curl_easy_reset(handle);  // keeps the connection, drops every option of the last request
  CURLcode rc = configure(handle, request, headers->get(), transfer, debug, errbuf.data(), left);
  if (rc == CURLE_OK && fresh) rc = curl_easy_setopt(handle, CURLOPT_FRESH_CONNECT, 1L);
  if (rc == CURLE_OK) rc = curl_easy_perform(handle);
  long opened = 0;
  if (curl_easy_getinfo(handle, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0) {
    connections += static_cast<std::uint64_t>(opened);
  }
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_reset(handle);  // the handle must not keep pointers into this frame
  if (rc != CURLE_OK) {
    poisoned = opened == 0 && status == 0 && isMalformedAnswer(rc);
    return failure(rc, request, transfer, errbuf.data(), std::min(options.attempt_timeout, left));
  }
  HttpResponse response;
  response.status = status;
  response.body = std::move(transfer.body);
  response.request_id = std::move(transfer.request_id);
  response.retry_after = parseRetryAfter(transfer.retry_after);
  response.etag = std::move(transfer.etag);
  response.metadata_flavor = std::move(transfer.metadata_flavor);
  response.location = std::move(transfer.location);
  return response;
}

HttpTransport::HttpTransport(TransportOptions options, const Logger& log)
    : impl_(std::make_unique<Impl>(std::move(options), log)) {}

HttpTransport::~HttpTransport() = default;

HttpResult HttpTransport::perform(const HttpRequest& request, Deadline deadline) {
  if (impl_->closing) {
    return makeTransferError(Outcome::unreachable,
                             request.method + " " + request.url + ": metadatafs is stopping");
  }
  Lease lease(impl_->pool, impl_->pool.acquire(deadline));
  if (lease.get() == nullptr) {
    return makeTransferError(Outcome::timed_out, request.method + " " + request.url +
                                                     ": no free connection before the deadline");
  }
  return impl_->run(lease.get(), request, deadline);
}

bool HttpTransport::pause(Millis pause) {
  UniqueLock lock(impl_->close_mu);
  return !impl_->closed.wait_for(lock, pause, [this] { return impl_->closing.load(); });
}

void HttpTransport::close() {
  {
    MutexLock lock(impl_->close_mu);
    impl_->closing = true;
  }
  impl_->closed.notify_all();
}

std::uint64_t HttpTransport::connectionsOpened() const {
  return impl_->connections;
}

std::size_t HttpTransport::maxResponseBytes() const {
  return impl_->options.max_response_bytes;
}

}  // namespace mdfs::service
