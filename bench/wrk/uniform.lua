-- Cache misses: GET /reviews for a product drawn uniformly from 1..PRODUCTS
-- on every request (run it against a server with a tiny cache).
--
--   wrk -t2 -c64 -d10s -s bench/wrk/uniform.lua http://127.0.0.1:3000 -- PRODUCTS
local threads = 0
local products = 1000011

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  products = tonumber(args[1]) or products
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function request()
  return wrk.format("GET", "/reviews?product_id=" .. math.random(1, products))
end
