-- The frontend's own pattern at its most expensive (issue 11): whole lists,
-- GET /reviews?product_id=N&count=1000000&sort=S, N uniform in 1..PRODUCTS,
-- S one of the three sorts.
--
--   wrk -t2 -c32 -d30s -s bench/wrk/frontend.lua http://127.0.0.1:3000 -- PRODUCTS
local threads = 0
local products = 1000011
local sorts = { "relevant", "newest", "helpful" }

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  products = tonumber(args[1]) or products
  math.randomseed(os.time() * 1000 + (thread_number or 0))
end

function request()
  return wrk.format("GET", "/reviews?product_id=" .. math.random(1, products) .. "&count=1000000&sort=" .. sorts[math.random(1, 3)])
end
