-- Cache hits: cycles through a small hot set of GET /reviews URLs, so every
-- request after the first round is answered from the cache. The hot products
-- are spread evenly over 1..PRODUCTS.
--
--   wrk -t2 -c64 -d10s -s bench/wrk/hot.lua http://127.0.0.1:3000 -- PRODUCTS HOT
local requests = {}
local i = 0

function init(args)
  local products = tonumber(args[1]) or 1000011
  local hot = tonumber(args[2]) or 100
  if hot > products then
    hot = products
  end
  for k = 0, hot - 1 do
    local id = math.floor(k * products / hot) + 1
    requests[#requests + 1] = wrk.format("GET", "/reviews?product_id=" .. id)
  end
end

function request()
  i = i + 1
  if i > #requests then
    i = 1
  end
  return requests[i]
end
