// One kafkajs consumer-group member, or a look at a group's committed offsets, for
// tests/group_clients.rs: the kafkajs counterpart of group_member.py, with the same arguments
// (CLIENT BOOTSTRAP TOPIC GROUP MODE PARTITIONS, CLIENT being kafkajs) and the same lines.
//
//   member     subscribes with kafkajs's defaults (fromBeginning, its auto.offset.reset=earliest)
//              and prints "assigned P,P,..." on each GROUP_JOIN (the whole assignment),
//              "revoked" when a rebalance starts, and "record P OFFSET" per record handed to
//              eachMessage. When stdin closes it disconnects (committing what it resolved,
//              auto-commit being on by default) and prints "closed".
//   committer  the same, but with autoCommit off and a commitOffsets after every record (20 ms
//              apart), printing "commit-ok P NEXT" only once the coordinator acknowledged it.
//   committed  prints "committed P OFFSET" (-1 for none) for every partition, as
//              admin.fetchOffsets reads them, and exits.
//
// kafkajs is installed by scripts/test-deps.sh into node_modules next to this script.
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const [client, bootstrap, topic, groupId, mode, partitions] = process.argv.slice(2)
if (client !== 'kafkajs') throw new Error(`not kafkajs: ${client}`)
const say = (line) => process.stdout.write(line + '\n')

// kafkajs logs to stdout through console; send its warnings and errors to stderr instead.
const logCreator = () => ({ namespace, level, log }) => {
  if (level <= logLevel.WARN) process.stderr.write(`${namespace} ${log.message} ${JSON.stringify(log)}\n`)
}
const kafka = new Kafka({ clientId: 'sluice-test', brokers: bootstrap.split(','), logCreator })

async function committed () {
  const admin = kafka.admin()
  await admin.connect()
  const [answer] = await admin.fetchOffsets({ groupId, topics: [topic] })
  const byPartition = new Map(answer.partitions.map(({ partition, offset }) => [partition, offset]))
  for (let p = 0; p < Number(partitions); p++) {
    const offset = Number(byPartition.has(p) ? byPartition.get(p) : -1)
    say(`committed ${p} ${offset < 0 ? -1 : offset}`)
  }
  await admin.disconnect()
}

async function member () {
  const consumer = kafka.consumer({ groupId })
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const mine = (payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b)
    say(`assigned ${mine.join(',')}`)
  })
  consumer.on(consumer.events.REBALANCING, () => say('revoked'))
  consumer.on(consumer.events.CRASH, ({ payload }) => process.stderr.write(`crash: ${payload.error}\n`))
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const committer = mode === 'committer'
  // A restarted consumer runs beside the old run's last eachMessage, whose commit kafkajs may
  // still be retrying, and hands over again messages committed past. Commits go one at a
  // time, and one at or below the highest acknowledged is not sent, so the group's offset
  // never goes back.
  const acked = new Map()
  const highest = (partition) => (acked.has(partition) ? acked.get(partition) : -1n)
  // commitOffsets also resolves, sending nothing, while the consumer is not running (as when
  // it restarts): only this event, emitted once the coordinator answered, proves a commit.
  consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
    for (const { partitions: committed } of payload.topics) {
      for (const { partition, offset } of committed) {
        const next = BigInt(offset.toString())
        if (next > highest(partition)) acked.set(partition, next)
        say(`commit-ok ${partition} ${next}`)
      }
    }
  })
  let previous = Promise.resolve()
  const oneAtATime = (work) => {
    const run = previous.then(work, work)
    previous = run.catch(() => {})
    return run
  }
  await consumer.run({
    autoCommit: !committer,
    eachMessage: async ({ partition, message }) => {
      say(`record ${partition} ${message.offset}`)
      if (!committer) return
      // Paced, so that the test's kill lands while commits are still going.
      await new Promise((resolve) => setTimeout(resolve, 20))
      const next = BigInt(message.offset) + 1n
      await oneAtATime(async () => {
        if (next <= highest(partition)) return
        try {
          await consumer.commitOffsets([{ topic, partition, offset: next.toString() }])
        } catch (error) {
          // kafkajs keeps the coordinator it joined through and finds no other until the
          // consumer restarts: rethrown, the error restarts it (and this message comes again).
          process.stderr.write(`commit: ${error}\n`)
          throw error
        }
      })
    }
  })
  process.stdin.on('end', async () => {
    await consumer.disconnect()
    say('closed')
    process.exit(0)
  })
  process.stdin.resume()
}

const run = mode === 'committed' ? committed : member
run().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
