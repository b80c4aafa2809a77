-- wrk script: replay one request per line of a file, each line used by exactly one wrk thread.
--
--   wrk -tT ... -s bench/replay.lua URL -- FILE T get        (each line is a path to GET)
--   wrk -tT ... -s bench/replay.lua URL -- FILE T post PATH  (each line is a JSON body to POST)
--
-- Thread t of T takes lines t+1, t+1+T, t+1+2T, … and starts over at the end of its share,
-- so a file with more lines than the run sends means no line is sent twice (no duplicates).
-- done() prints one line `BENCH_JSON {…}` with the counts and latency percentiles (in µs), and
-- `wraps`, how many times any thread went back to the start of its share.

local thread_count = 0
local threads = {}

function setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   -- setup() of later threads has not run yet: the thread count comes as an argument.
   local file, total, mode, path = args[1], tonumber(args[2]), args[3], args[4]
   local lines = {}
   for line in io.lines(file) do
      if #line > 0 then
         lines[#lines + 1] = line
      end
   end
   requests_list = {}
   for n, line in ipairs(lines) do
      -- A file shorter than the thread count (the bare route's one path): every thread takes all.
      if #lines < total or (n - 1) % total == thread_index then
         if mode == "post" then
            requests_list[#requests_list + 1] = wrk.format(
               "POST", path, { ["Content-Type"] = "application/json" }, line)
         else
            requests_list[#requests_list + 1] = wrk.format("GET", line)
         end
      end
   end
   position = 0
   wraps = 0
end

function request()
   position = position + 1
   if position > #requests_list then
      position = 1
      wraps = wraps + 1
   end
   return requests_list[position]
end

function done(summary, latency, requests)
   local total_wraps = 0
   for _, thread in ipairs(threads) do
      total_wraps = total_wraps + (thread:get("wraps") or 0)
   end
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,' ..
      '"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d},"wraps":%d}\n',
      summary.requests, summary.duration, summary.bytes,
      summary.errors.connect, summary.errors.read, summary.errors.write,
      summary.errors.status, summary.errors.timeout,
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9), total_wraps))
end
