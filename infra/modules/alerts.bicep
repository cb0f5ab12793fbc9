// Alerts on the three signs that the sync needs a person: messages moved to a poison queue, records
// parked with a permanent error, and queue messages waiting too long (lag). Each is a log search alert
// evaluated every 5 minutes over the last 15, sent to an action group (e-mail when addresses are given).
//
// Signals: the storage account's write logs (storage.bicep sends StorageWrite of queues and tables to
// Log Analytics), in which the host's move of a failed message to <queue>-poison is a PutMessage and a
// newly parked record an InsertEntity into the parked table; and the Functions host's "Trigger Details"
// trace of each queue-triggered run, which states the message's InsertionTime.
param environmentName string
param location string
param tags object
param logAnalyticsWorkspaceId string
param applicationInsightsId string
param alertEmails array
@description('Full name of the parked-records table: STATE_TABLE_PREFIX + "parked" (shared/state/parked.py).')
param parkedTableName string
param poisonAlertThreshold int
param parkedAlertThreshold int
param lagAlertMinutes int

var poisonQuery = '''
StorageQueueLogs
| where OperationName == "PutMessage" and toint(StatusCode) between (200 .. 299)
| extend Queue = tostring(split(tostring(parse_url(Uri)["Path"]), "/")[1])
| where Queue endswith "-poison"
| summarize Poisoned = count() by Queue
'''

var parkedQuery = '''
StorageTableLogs
| where OperationName == "InsertEntity" and toint(StatusCode) between (200 .. 299)
| extend Table = extract(@"^/([A-Za-z0-9]+)", 1, tostring(parse_url(Uri)["Path"]))
| where Table =~ "PARKED_TABLE"
| summarize Parked = count() by Table
'''

// InsertionTime is written as ISO 8601 or, by .NET's invariant culture, MM/dd/yyyy HH:mm:ss +00:00.
var lagQuery = '''
traces
| where message startswith "Trigger Details:" and message has "DequeueCount"
| extend Inserted = trim(" ", extract(@"InsertionTime: ([^,]+)", 1, message))
| parse Inserted with Month:int "/" Day:int "/" Year:int " " Hour:int ":" Minute:int ":" Second:int *
| extend InsertedAt = coalesce(todatetime(Inserted), make_datetime(Year, Month, Day, Hour + iff(Inserted has "PM" and Hour < 12, 12, 0) - iff(Inserted has "AM" and Hour == 12, 12, 0), Minute, Second))
| where isnotnull(InsertedAt)
| extend Function = tostring(customDimensions["Category"])
| summarize LagMinutes = max(datetime_diff("second", timestamp, InsertedAt)) / 60.0 by Function
'''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-${environmentName}-connector'
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'connector'
    enabled: true
    emailReceivers: [for (address, index) in alertEmails: {
      name: 'email-${index}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
  }
}

resource poisonAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-${environmentName}-poison'
  location: location
  tags: tags
  properties: {
    displayName: 'Connector: messages moved to a poison queue'
    description: 'A queue message failed maxDequeueCount times and was moved to <queue>-poison: inspect it, fix the cause, replay it.'
    severity: 1
    enabled: true
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    scopes: [
      logAnalyticsWorkspaceId
    ]
    criteria: {
      allOf: [
        {
          query: poisonQuery
          timeAggregation: 'Total'
          metricMeasureColumn: 'Poisoned'
          dimensions: [
            {
              name: 'Queue'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: poisonAlertThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource parkedAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-${environmentName}-parked'
  location: location
  tags: tags
  properties: {
    displayName: 'Connector: records parked'
    description: 'Records failed with a permanent, classified error and were parked: inspect the parked table, fix the data, replay.'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    scopes: [
      logAnalyticsWorkspaceId
    ]
    criteria: {
      allOf: [
        {
          query: replace(parkedQuery, 'PARKED_TABLE', parkedTableName)
          timeAggregation: 'Total'
          metricMeasureColumn: 'Parked'
          operator: 'GreaterThan'
          threshold: parkedAlertThreshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

resource lagAlert 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'alert-${environmentName}-lag'
  location: location
  tags: tags
  properties: {
    displayName: 'Connector: queue lag'
    description: 'A queue message waited longer than the threshold between being enqueued and being processed (retries included).'
    severity: 2
    enabled: true
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    scopes: [
      applicationInsightsId
    ]
    criteria: {
      allOf: [
        {
          query: lagQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'LagMinutes'
          dimensions: [
            {
              name: 'Function'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: lagAlertMinutes
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        actionGroup.id
      ]
    }
  }
}

output actionGroupId string = actionGroup.id
output alertIds array = [
  poisonAlert.id
  parkedAlert.id
  lagAlert.id
]
