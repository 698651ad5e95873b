/**
 * The token bucket of token-bucket.ts as one Redis script, so that a take is atomic across
 * every gateway sharing the Redis: 50 simultaneous requests on several replicas still admit
 * exactly the bucket. Time is Redis's own (TIME), so the replicas' clocks do not matter.
 * KEYS[1]: the bucket. ARGV: request capacity, request refill per ms, token capacity, token
 * refill per ms (capacity -1 = that limit is off), tokens to take, "take" or "adjust", token delta,
 * requests to take (default 1; 0 charges more tokens to a request already admitted).
 * Returns {allowed 0/1, request level, token level, ms to wait}.
 */
export const BUCKET_SCRIPT = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local reqCap, reqPerMs = tonumber(ARGV[1]), tonumber(ARGV[2])
local tokCap, tokPerMs = tonumber(ARGV[3]), tonumber(ARGV[4])
local saved = redis.call('HMGET', KEYS[1], 'r', 't', 'at')
local elapsed = 0
if saved[3] then elapsed = math.max(0, now - tonumber(saved[3])) end
local function level(cap, perMs, prev)
  if cap < 0 then return 0 end
  if not prev then return cap end
  return math.min(cap, tonumber(prev) + elapsed * perMs)
end
local r = level(reqCap, reqPerMs, saved[1])
local t = level(tokCap, tokPerMs, saved[2])
local allowed, wait = 1, 0
if ARGV[6] == 'take' then
  local need = 0
  if tokCap >= 0 then need = math.min(tonumber(ARGV[5]), tokCap) end
  local needR = 0
  if reqCap >= 0 then needR = math.min(tonumber(ARGV[8] or '1'), reqCap) end
  if reqCap >= 0 and r < needR then wait = math.max(wait, (needR - r) / reqPerMs) end
  if tokCap >= 0 and t < need then wait = math.max(wait, (need - t) / tokPerMs) end
  if wait > 0 then
    allowed = 0
  else
    r = r - needR
    t = t - need
  end
elseif tokCap >= 0 then
  t = math.min(tokCap, math.max(-tokCap, t - tonumber(ARGV[7])))
end
local full = 0
if reqCap >= 0 then full = math.max(full, (reqCap - r) / reqPerMs) end
if tokCap >= 0 then full = math.max(full, (tokCap - t) / tokPerMs) end
redis.call('HSET', KEYS[1], 'r', tostring(r), 't', tostring(t), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(full) + 1000)
return {allowed, tostring(r), tostring(t), tostring(wait)}
`;
