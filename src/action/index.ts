import { fail, run } from './main.js'

process.on('unhandledRejection', fail)
void run()
