-- The distinct-pages flood (issue 11): GET /reviews?product_id=P&count=1000000
-- with a new page number on every request, so every answer is a new cache
-- entry (pages past the end never touch the database).
--
--   wrk -t2 -c32 -d30s -s bench/wrk/pages.lua http://127.0.0.1:3000 -- [PRODUCT]
local threads = 0
local product = 1

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  product = tonumber(args[1]) or product
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function request()
  return wrk.format("GET", "/reviews?product_id=" .. product .. "&count=1000000&page=" .. math.random(1, 2000000000))
end
